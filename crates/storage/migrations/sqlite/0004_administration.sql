-- Administration (seed 002): platform operators beside institution accounts,
-- forced password change after a reset, the function switch's terms, and what
-- staff record about a consented patient (照会番号, photo-ID check).

-- SQLite cannot relax NOT NULL or a CHECK in place: rebuild the table.
CREATE TABLE accounts_v2 (
    id INTEGER PRIMARY KEY,
    -- NULL for a platform operator, who belongs to no institution.
    institution_id BIGINT REFERENCES institutions (id),
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'general', 'medical_viewer', 'operator')),
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    start_date TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    last_login_at BIGINT,
    CHECK ((role = 'operator') = (institution_id IS NULL)),
    UNIQUE (institution_id, user_id)
);
INSERT INTO accounts_v2 (id, institution_id, user_id, role, name, name_kana, start_date, password_hash,
    failed_attempts, locked_until, disabled, created_at)
SELECT id, institution_id, user_id, role, name, name_kana, start_date, password_hash,
    failed_attempts, locked_until, disabled, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_v2 RENAME TO accounts;
CREATE UNIQUE INDEX accounts_operator_user ON accounts (user_id) WHERE institution_id IS NULL;

ALTER TABLE institutions ADD COLUMN terms_accepted_at BIGINT;
ALTER TABLE institutions ADD COLUMN terms_accepted_by BIGINT;

CREATE TABLE institution_patients (
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    -- 照会番号: e.g. the 診察券 number, up to 50 characters, unique per institution.
    reference_number TEXT,
    photo_id_checked_at BIGINT,
    photo_id_checked_by BIGINT REFERENCES accounts (id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (institution_id, person_id),
    UNIQUE (institution_id, reference_number)
);
CREATE INDEX consents_recorded ON consents (institution_id, recorded_at);
