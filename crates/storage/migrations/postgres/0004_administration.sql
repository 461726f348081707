-- Administration (seed 002): platform operators beside institution accounts,
-- forced password change after a reset, the function switch's terms, and what
-- staff record about a consented patient (照会番号, photo-ID check).

-- NULL institution for a platform operator, who belongs to no institution.
ALTER TABLE accounts ALTER COLUMN institution_id DROP NOT NULL;
ALTER TABLE accounts DROP CONSTRAINT accounts_role_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_role_check
    CHECK (role IN ('admin', 'general', 'medical_viewer', 'operator'));
ALTER TABLE accounts ADD CONSTRAINT accounts_operator_has_no_institution
    CHECK ((role = 'operator') = (institution_id IS NULL));
ALTER TABLE accounts ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));
ALTER TABLE accounts ADD COLUMN last_login_at BIGINT;
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
