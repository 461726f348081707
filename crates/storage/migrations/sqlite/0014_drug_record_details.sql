-- The columns of seed 002's 薬剤情報 table the registry lacked: 入外/調剤,
-- 処方日, 内服/外用, 一般名 and 回数. The rows already stored (synthetic, so
-- regenerable) read as filled at a pharmacy on the day of the prescription,
-- taken by mouth, 回数 = 日数, 一般名 unknown.
ALTER TABLE drug_records ADD COLUMN setting TEXT NOT NULL DEFAULT 'pharmacy'
    CHECK (setting = 'inpatient' OR setting = 'outpatient' OR setting = 'pharmacy');
ALTER TABLE drug_records ADD COLUMN prescribed_on TEXT NOT NULL DEFAULT '';
UPDATE drug_records SET prescribed_on = dispensed_on;
ALTER TABLE drug_records ADD COLUMN route TEXT NOT NULL DEFAULT 'oral'
    CHECK (route = 'oral' OR route = 'as_needed' OR route = 'external' OR route = 'injection');
ALTER TABLE drug_records ADD COLUMN generic_name TEXT NOT NULL DEFAULT '';
ALTER TABLE drug_records ADD COLUMN times BIGINT NOT NULL DEFAULT 0;
UPDATE drug_records SET times = days;
