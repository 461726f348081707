-- 交付年月日 of a qualification (seed 002's 患者情報: the day its card or
-- 資格確認書 was issued). Unknown for the rows already stored.
ALTER TABLE qualifications ADD COLUMN issued_on TEXT;
