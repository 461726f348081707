-- 生体認証 of マイナ資格確認アプリ: a passkey (WebAuthn platform
-- authenticator) enrolled on an app device in セキュリティ設定, one per
-- device (enrolling again replaces it). passkey is webauthn-rs's credential
-- as JSON (public key, counter); credential_id is unique across devices.
CREATE TABLE app_passkeys (
    device_id BIGINT PRIMARY KEY REFERENCES devices (id),
    credential_id TEXT NOT NULL UNIQUE,
    passkey TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
