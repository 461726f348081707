-- What a hand-off is for, as the service that opened it says, so that the
-- authenticator's pages can name the institution and the action (同意登録,
-- 同意照会, …). Display hints only: nothing is decided on them. Nullable, so
-- a service that sends neither still works and existing rows stay valid; no
-- CHECK, because the authenticator validates both before the insert and a
-- CHECK would cost every insert on the registration path.
ALTER TABLE auth_requests ADD COLUMN client_name TEXT;
ALTER TABLE auth_requests ADD COLUMN purpose TEXT;
