-- マイナ資格確認アプリ: activation codes, and what an app device keeps.
--
-- アクティベーションコード (seed 002 《マイナ資格確認アプリ管理》): twelve
-- digits shown once to the administrator who issued them; only their
-- SHA-256 is kept. The window in which a code opens is fixed at issue.
-- A code activates one device and is then 使用済み.
CREATE TABLE activation_codes (
    id INTEGER PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    code_hash TEXT NOT NULL,
    -- 端末識別メモ, up to 50 characters; the device activated with the
    -- code takes it over.
    memo TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    issued_by BIGINT NOT NULL REFERENCES accounts (id),
    usable_from BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    device_id BIGINT REFERENCES devices (id),
    UNIQUE (institution_id, code_hash)
);
CREATE INDEX activation_codes_list ON activation_codes (institution_id, id);

-- An app device logs in to the account that activated it
-- (devices.registered_by). ログインパスコード: an Argon2 hash of the four
-- digits; NULL until one is chosen and again after five wrong ones in a row
-- (wrong_passcodes) or a ログアウト, when the next start asks for the ID
-- and password. visual_check: 目視確認で本人認証 (on after activation).
ALTER TABLE devices ADD COLUMN passcode_hash TEXT;
ALTER TABLE devices ADD COLUMN wrong_passcodes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN visual_check INTEGER NOT NULL DEFAULT 1
    CHECK (visual_check IN (0, 1));
