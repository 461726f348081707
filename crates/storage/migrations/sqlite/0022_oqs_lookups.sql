-- The receipt-computer interface finds a person by the insurance-card data
-- a request carries (保険者番号・番号, then 生年月日).
CREATE INDEX qualifications_card ON qualifications (insurer_number, number);
-- and hands out an institution's check-in results (face files) in the
-- order they were kept, after the last one its folder agent took.
CREATE INDEX app_checks_institution_id ON app_checks (institution_id, id);
