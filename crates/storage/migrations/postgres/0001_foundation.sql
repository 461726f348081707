-- Foundation schema (PostgreSQL). Dates are ISO-8601 TEXT (YYYY-MM-DD) and instants
-- are BIGINT microseconds since the Unix epoch (UTC), in both backends, so one
-- SQL text serves both. Flags are INTEGER 0/1.

CREATE TABLE institutions (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 10),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('medical', 'dental', 'pharmacy', 'home_nursing')),
    eprescription BIGINT NOT NULL DEFAULT 0 CHECK (eprescription IN (0, 1)),
    remote_function_enabled BIGINT NOT NULL DEFAULT 0 CHECK (remote_function_enabled IN (0, 1)),
    consent_items TEXT NOT NULL,
    url_token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE persons (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('1', '2', '3')),
    postal_code TEXT NOT NULL,
    address TEXT NOT NULL,
    considerate_name TEXT,
    considerate_kana TEXT,
    considerate_sex TEXT,
    insurance_use_registered BIGINT NOT NULL CHECK (insurance_use_registered IN (0, 1))
);

CREATE TABLE qualifications (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    coverage TEXT NOT NULL CHECK (coverage IN ('insurance', 'medical_assistance')),
    insurer_number TEXT,
    insurer_name TEXT,
    symbol TEXT,
    number TEXT,
    branch TEXT,
    personal_family TEXT,
    insured_name TEXT,
    burden_ratio TEXT,
    welfare_office_name TEXT,
    payer_number TEXT,
    recipient_number TEXT,
    acquired_on TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    lost_on TEXT,
    loss_reason TEXT
);
CREATE INDEX qualifications_person ON qualifications (person_id);

CREATE TABLE elderly_certificates (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    burden_ratio TEXT NOT NULL
);
CREATE INDEX elderly_certificates_person ON elderly_certificates (person_id);

CREATE TABLE limit_certificates (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL,
    class TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    long_term_from TEXT
);
CREATE INDEX limit_certificates_person ON limit_certificates (person_id);

CREATE TABLE specific_disease_certificates (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    disease TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    self_pay_limit_yen BIGINT NOT NULL
);
CREATE INDEX specific_disease_certificates_person ON specific_disease_certificates (person_id);

CREATE TABLE public_subsidies (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    payer_number TEXT NOT NULL,
    recipient_number TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    monthly_limit_yen BIGINT
);
CREATE INDEX public_subsidies_person ON public_subsidies (person_id);

CREATE TABLE drug_records (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    dispensed_on TEXT NOT NULL,
    institution_name TEXT NOT NULL,
    drug_name TEXT NOT NULL,
    dosage TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    unit TEXT NOT NULL,
    days BIGINT NOT NULL
);
CREATE INDEX drug_records_person ON drug_records (person_id, dispensed_on);

CREATE TABLE clinical_events (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    occurred_on TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    detail TEXT NOT NULL,
    institution_name TEXT NOT NULL
);
CREATE INDEX clinical_events_person ON clinical_events (person_id, occurred_on);

CREATE TABLE checkups (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    examined_on TEXT NOT NULL,
    height_cm DOUBLE PRECISION NOT NULL,
    weight_kg DOUBLE PRECISION NOT NULL,
    waist_cm DOUBLE PRECISION NOT NULL,
    systolic_mmhg BIGINT NOT NULL,
    diastolic_mmhg BIGINT NOT NULL,
    hba1c_percent DOUBLE PRECISION NOT NULL,
    ldl_mg_dl BIGINT NOT NULL,
    hdl_mg_dl BIGINT NOT NULL,
    triglycerides_mg_dl BIGINT NOT NULL
);
CREATE INDEX checkups_person ON checkups (person_id, examined_on);

-- Consent history: append-only; the newest row per (institution, person) decides.
CREATE TABLE consents (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    action TEXT NOT NULL CHECK (action IN ('register', 'update', 'revoke')),
    care_kind TEXT NOT NULL CHECK (care_kind IN ('home_visit', 'online', 'outpatient')),
    channel TEXT NOT NULL CHECK (channel IN ('web', 'app', 'counter', 'partner')),
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
    needs_photo_id_check BIGINT NOT NULL DEFAULT 0 CHECK (needs_photo_id_check IN (0, 1)),
    -- A retried submission carries the same key and finds the first write.
    idempotency_key TEXT UNIQUE
);
CREATE INDEX consents_latest ON consents (institution_id, person_id, id);
