-- 健康保険証利用登録 made in マイナ資格確認アプリ (seed 001 §12). It takes
-- effect at effective_at, after a short delay like the national system's
-- processing: until then a check says it is being processed; the first
-- check after it sets persons.insurance_use_registered (applied_at).
CREATE TABLE insurance_registrations (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL,
    card_id BIGINT NOT NULL REFERENCES cards (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    device_id BIGINT NOT NULL REFERENCES devices (id),
    requested_at BIGINT NOT NULL,
    effective_at BIGINT NOT NULL,
    applied_at BIGINT
);
CREATE INDEX insurance_registrations_person ON insurance_registrations (person_id, id);
