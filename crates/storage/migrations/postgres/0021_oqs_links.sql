-- レセコン連携: the link credential by which an institution's receipt
-- computer (or the zaitaku oqs-link folder agent in front of it) reaches the
-- receipt-computer interface (docs/reference/oqs.md, "The link credential").
--
-- The credential zoqs_<id>_<secret> is shown once, at issue and at each
-- rotation; only the SHA-256 of its secret is kept (hex). Rotation replaces
-- the hash, so the previous credential stops at once; a revoked link
-- (revoked_at) never authenticates again. character_code is the encoding
-- its results are written in (CharacterCodeIdentifier: '0' UTF-8,
-- '1' Shift_JIS). last_used_at is written at most once a minute.
CREATE TABLE oqs_links (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    -- 名称, up to 50 characters (e.g. 受付レセコン).
    label TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    character_code TEXT NOT NULL CHECK (character_code IN ('0', '1')),
    created_at BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts (id),
    rotated_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX oqs_links_list ON oqs_links (institution_id, id);
