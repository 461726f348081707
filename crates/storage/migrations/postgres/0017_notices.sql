-- お知らせ that the platform operator posts for マイナ資格確認アプリ (seed 001
-- 「実施機関からのお知らせ」): shown from published_from until before
-- published_until (none: until further notice). notice_reads keeps which
-- device has seen which, so that a start lists only the unread ones.
CREATE TABLE notices (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    published_from BIGINT NOT NULL,
    published_until BIGINT,
    created_at BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts (id)
);
CREATE INDEX notices_published ON notices (published_from);
CREATE TABLE notice_reads (
    device_id BIGINT NOT NULL REFERENCES devices (id),
    notice_id BIGINT NOT NULL REFERENCES notices (id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, notice_id)
);
