-- The audit log keyed by its rowid. `seq BIGINT PRIMARY KEY` made SQLite
-- keep a second B-tree beside the table (only `INTEGER PRIMARY KEY` is the
-- rowid itself), so every appended record was inserted twice and every
-- read by seq searched twice. Same columns and rows; the table is rebuilt
-- because SQLite cannot change a primary key in place.
CREATE TABLE audit_log_v2 (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    institution_id BIGINT,
    person_id BIGINT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_log_v2 (seq, at, actor, action, outcome, institution_id, person_id, detail,
    prev_hash, hash)
SELECT seq, at, actor, action, outcome, institution_id, person_id, detail, prev_hash, hash
FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_v2 RENAME TO audit_log;
CREATE INDEX audit_log_institution ON audit_log (institution_id, seq);

-- The chain's tip, likewise: one row, read and updated in every write batch.
CREATE TABLE audit_head_v2 (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head_v2 (id, seq, last_hash) SELECT id, seq, last_hash FROM audit_head;
DROP TABLE audit_head;
ALTER TABLE audit_head_v2 RENAME TO audit_head;
