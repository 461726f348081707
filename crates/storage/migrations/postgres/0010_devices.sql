-- Devices of an institution, and why a consent needs a photo-ID check.
--
-- A device is a browser that an administrator registered as the
-- institution's own (医療機関等の端末), and later also a staff-app install
-- (`kind = 'app'`, マイナ資格確認アプリ). The browser keeps a random token
-- in a cookie; only its SHA-256 is stored here, so a copy of this table does
-- not let anyone pass for one of the devices. A revoked device stays listed
-- with the time it was revoked.
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL CHECK (kind = 'browser' OR kind = 'app'),
    token_hash TEXT NOT NULL UNIQUE,
    -- 端末識別メモ (seed 002), up to 50 characters.
    memo TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    registered_by BIGINT REFERENCES accounts (id),
    last_seen_at BIGINT,
    revoked_at BIGINT,
    revoked_by BIGINT REFERENCES accounts (id)
);
CREATE INDEX devices_institution ON devices (institution_id, id);

-- NULL: registered in front of staff on one of the institution's devices.
-- Consents flagged before this column existed were all made through the QR
-- code on another screen, the only case flagged then.
ALTER TABLE consents ADD COLUMN photo_id_reason TEXT
    CHECK (photo_id_reason IS NULL OR photo_id_reason = 'own_device'
        OR photo_id_reason = 'cross_device' OR photo_id_reason = 'online');
UPDATE consents SET photo_id_reason = 'cross_device' WHERE needs_photo_id_check = 1;
