-- The same constraints on consents, written without IN lists: SQLite builds a
-- temporary index for each `x IN ('a', 'b', 'c')` of three or more values
-- every time a CHECK is evaluated, which was three temporary tables per
-- registration (measured with callgrind; see docs/benchmarks.md). SQLite
-- cannot change a CHECK in place: the table is rebuilt, ids kept.
CREATE TABLE consents_v2 (
    id INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    action TEXT NOT NULL CHECK (action = 'register' OR action = 'update' OR action = 'revoke'),
    care_kind TEXT NOT NULL
        CHECK (care_kind = 'home_visit' OR care_kind = 'online' OR care_kind = 'outpatient'),
    channel TEXT NOT NULL
        CHECK (channel = 'web' OR channel = 'app' OR channel = 'counter' OR channel = 'partner'),
    surgery TEXT,
    clinical_and_drug TEXT,
    checkups TEXT,
    specific_disease TEXT,
    subsidy TEXT,
    limit_amount TEXT,
    prescription_form TEXT,
    recorded_at BIGINT NOT NULL,
    valid_until BIGINT,
    recorded_by TEXT NOT NULL,
    needs_photo_id_check INTEGER NOT NULL DEFAULT 0 CHECK (needs_photo_id_check IN (0, 1)),
    -- A retried submission carries the same key and finds the first write.
    idempotency_key TEXT UNIQUE
);
INSERT INTO consents_v2 (id, institution_id, person_id, action, care_kind, channel, surgery,
    clinical_and_drug, checkups, specific_disease, subsidy, limit_amount, prescription_form,
    recorded_at, valid_until, recorded_by, needs_photo_id_check, idempotency_key)
SELECT id, institution_id, person_id, action, care_kind, channel, surgery,
    clinical_and_drug, checkups, specific_disease, subsidy, limit_amount, prescription_form,
    recorded_at, valid_until, recorded_by, needs_photo_id_check, idempotency_key FROM consents;
DROP TABLE consents;
ALTER TABLE consents_v2 RENAME TO consents;
CREATE INDEX consents_latest ON consents (institution_id, person_id, id);
CREATE INDEX consents_recorded ON consents (institution_id, recorded_at);
