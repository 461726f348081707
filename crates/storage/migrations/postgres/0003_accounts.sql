-- Institution accounts (資格確認端末 / 管理画面). Passwords are Argon2id hashes.
CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'general', 'medical_viewer')),
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    start_date TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    UNIQUE (institution_id, user_id)
);
