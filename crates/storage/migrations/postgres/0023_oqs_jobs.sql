-- The receipt-computer interface's uploads (一括照会, 同意済資格情報,
-- 照会番号一括登録),
-- queued so that any node works them: a node claims a job for a lease and
-- another takes it over when the lease runs out. The upload is kept as
-- sent in parts of 1 MiB, the result in parts of a few thousand persons,
-- so that no write or read holds a large file twice. upload_key (SHA-256 of the file's
-- name and bytes) makes an upload sent twice the same job.
CREATE TABLE oqs_jobs (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    link_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('muquc', 'muhvq', 'muonq', 'muimm')),
    reception_number TEXT NOT NULL UNIQUE,
    upload_key TEXT NOT NULL,
    character_code TEXT NOT NULL CHECK (character_code IN ('0', '1')),
    state TEXT NOT NULL CHECK (state IN ('queued', 'working', 'done', 'failed')),
    lease_until BIGINT,
    parts BIGINT NOT NULL DEFAULT 0,
    opening BYTEA,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (institution_id, upload_key)
);
CREATE INDEX oqs_jobs_waiting ON oqs_jobs (state, id);

CREATE TABLE oqs_job_parts (
    job_id BIGINT NOT NULL REFERENCES oqs_jobs (id),
    part BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (job_id, part)
);

CREATE TABLE oqs_job_uploads (
    job_id BIGINT NOT NULL REFERENCES oqs_jobs (id),
    part BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (job_id, part)
);
