-- How many results each device kept on each day (JST), so that the result
-- search counts a period by adding at most a few dozen rows instead of
-- counting every result in it. Written with each result, purged with them.
CREATE TABLE app_check_days (
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    device_id BIGINT NOT NULL REFERENCES devices (id),
    day TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (institution_id, device_id, day)
);
-- The results kept so far, by their day in Japan (UTC+9).
INSERT INTO app_check_days (institution_id, device_id, day, n)
SELECT institution_id, device_id, date(checked_at / 1000000 + 32400, 'unixepoch'), COUNT(*) FROM app_checks
GROUP BY institution_id, device_id, date(checked_at / 1000000 + 32400, 'unixepoch');
