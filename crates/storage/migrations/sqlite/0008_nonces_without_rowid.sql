-- Nonces stored in the B-tree of their key. With `nonce TEXT PRIMARY KEY`
-- on a rowid table SQLite kept the rows in one B-tree and the key in a
-- second one, so issuing a nonce wrote two pages and spending it (the
-- writer, once per registration) searched two B-trees. A nonce's row is
-- about a hundred bytes, small enough for `WITHOUT ROWID`. Same columns
-- and rows; nothing references this table.
CREATE TABLE auth_nonces_v2 (
    nonce TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
) WITHOUT ROWID;
INSERT INTO auth_nonces_v2 (nonce, session_id, created_at, expires_at, used_at)
SELECT nonce, session_id, created_at, expires_at, used_at FROM auth_nonces;
DROP TABLE auth_nonces;
ALTER TABLE auth_nonces_v2 RENAME TO auth_nonces;
