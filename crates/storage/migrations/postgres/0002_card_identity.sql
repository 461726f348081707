-- Card identity (JPKI stand-in), nonces, the authenticator hand-off, audit.

-- Certificate authorities of the stand-in. Their keys live here because the
-- stand-in issues cards; a real deployment keeps only the anchor certificates.
CREATE TABLE card_authorities (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    cert_der BYTEA NOT NULL,
    key_pkcs8 BYTEA,
    created_at BIGINT NOT NULL
);

-- Virtual cards: a physical My Number card or a smartphone card. The key and
-- the PIN hash belong to the card component; the web service never reads them.
CREATE TABLE cards (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL CHECK (kind IN ('physical', 'iphone', 'android')),
    authority_id BIGINT NOT NULL REFERENCES card_authorities (id),
    serial_hex TEXT NOT NULL UNIQUE,
    cert_der BYTEA NOT NULL,
    key_pkcs8 BYTEA NOT NULL,
    pin_hash TEXT,
    tries_left BIGINT NOT NULL DEFAULT 3,
    locked BIGINT NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    revoked_at BIGINT,
    in_demo_wallet BIGINT NOT NULL DEFAULT 0 CHECK (in_demo_wallet IN (0, 1)),
    issued_at BIGINT NOT NULL,
    not_after BIGINT NOT NULL
);
CREATE INDEX cards_person ON cards (person_id);

-- Authentication nonces: single use, bound to a browser session, short-lived.
CREATE TABLE auth_nonces (
    nonce TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- The authenticator hand-off (authorization-code flow with PKCE).
CREATE TABLE auth_requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce TEXT NOT NULL,
    origin TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    card_id BIGINT,
    code TEXT UNIQUE,
    token TEXT,
    completed_at BIGINT,
    redeemed_at BIGINT,
    cancelled_at BIGINT,
    -- Opened on the patient's own phone from a QR code shown on a PC.
    cross_device BIGINT NOT NULL DEFAULT 0 CHECK (cross_device IN (0, 1))
);

-- Append-only, hash-chained audit log. audit_head holds the chain's tip; the
-- UPDATE on its single row serialises appends on both databases.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    institution_id BIGINT,
    person_id BIGINT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_institution ON audit_log (institution_id, seq);

-- Browser sessions of the web service, in the database so that any node can
-- serve any request. `data` is a JSON object; it never holds a PIN.
CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
