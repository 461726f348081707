-- Persons keyed by their rowid. `id BIGINT PRIMARY KEY` made SQLite keep a
-- second B-tree beside the table (only `INTEGER PRIMARY KEY` is the rowid
-- itself), so every read of a person by id and every foreign-key check of
-- the eleven tables that reference persons searched two B-trees.
-- Same columns, rules and rows; the sex CHECK is written with `=`/`OR`, which
-- SQLite evaluates without building a temporary index for every insert (as
-- in 0005). The table is rebuilt because SQLite cannot change a primary key
-- in place; this needs foreign-key enforcement off (`Store::migrate` runs
-- SQLite migrations so, then checks every foreign key).
CREATE TABLE persons_v2 (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex = '1' OR sex = '2' OR sex = '3'),
    postal_code TEXT NOT NULL,
    address TEXT NOT NULL,
    considerate_name TEXT,
    considerate_kana TEXT,
    considerate_sex TEXT,
    insurance_use_registered INTEGER NOT NULL
        CHECK (insurance_use_registered = 0 OR insurance_use_registered = 1)
);
INSERT INTO persons_v2 (id, name, name_kana, birth_date, sex, postal_code, address,
    considerate_name, considerate_kana, considerate_sex, insurance_use_registered)
SELECT id, name, name_kana, birth_date, sex, postal_code, address,
    considerate_name, considerate_kana, considerate_sex, insurance_use_registered
FROM persons ORDER BY id;
DROP TABLE persons;
ALTER TABLE persons_v2 RENAME TO persons;
