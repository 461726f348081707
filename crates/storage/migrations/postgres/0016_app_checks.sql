-- 資格確認結果 of the staff app (マイナ資格確認アプリ), kept as they were
-- shown: the result search (D-10-W) shows this snapshot again, never a new
-- inquiry. name and valid are the list's columns (氏名, 資格確認結果);
-- result is the whole screen as JSON. Kept for the retention period of
-- docs/design/staff-app.md, then purged.
CREATE TABLE app_checks (
    id BIGSERIAL PRIMARY KEY,
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    device_id BIGINT NOT NULL REFERENCES devices (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    person_id BIGINT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('visual', 'pin', 'iphone', 'android')),
    checked_at BIGINT NOT NULL,
    name TEXT NOT NULL,
    valid INTEGER NOT NULL CHECK (valid IN (0, 1)),
    result TEXT NOT NULL
);
CREATE INDEX app_checks_institution ON app_checks (institution_id, checked_at, id);
CREATE INDEX app_checks_device ON app_checks (device_id, checked_at, id);
