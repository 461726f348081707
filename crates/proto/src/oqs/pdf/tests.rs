use chrono::NaiveDate;
use zaitaku_domain::codes::Sex;
use zaitaku_domain::institution::{InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;

use super::*;
use crate::oqs::CharacterCode;
use crate::oqs::medical::{Checkup, CheckupItem, Drug, DrugDay};

/// The Japanese font the test suite installs (Debian `fonts-noto-cjk`,
/// scripts/ensure-packages).
const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

fn font() -> PdfFont {
    let bytes = std::fs::read(NOTO_CJK)
        .unwrap_or_else(|e| panic!("{NOTO_CJK}: {e} (scripts/ensure-packages installs it)"));
    PdfFont::new(bytes).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn header() -> MedicalHeader {
    MedicalHeader {
        process_execution_time: day(2026, 12, 7).and_hms_opt(16, 45, 3).unwrap(),
        medical_institution_code: InstitutionCode::build(
            Prefecture::from_digits("13").unwrap(),
            InstitutionKind::Medical,
            1,
            2345,
        )
        .unwrap(),
        arbitrary_file_identifier: None,
        refusal: None,
        character_code: CharacterCode::ShiftJis,
    }
}

fn patient() -> Patient {
    Patient {
        name: "架空 花子".into(),
        kana: "ｶｸｳ ﾊﾅｺ".into(),
        birth: day(1948, 3, 9),
        sex: Sex::Female,
    }
}

fn drugs(days: usize) -> DrugResult {
    DrugResult {
        header: header(),
        patient: Some(patient()),
        drugs: (0..days)
            .map(|i| DrugDay {
                date: day(2026, 10, 1 + (i % 28) as u32),
                institution: "みどり調剤薬局".into(),
                drugs: vec![
                    Drug {
                        name: "アムロジピン錠５ｍｇ「架空」".into(),
                        ingredient: "アムロジピンベシル酸塩".into(),
                        quantity: "1".into(),
                        unit: "錠".into(),
                        usage: "1日1回朝食後に服用してください。飲み忘れに気づいたときは、次の服用時刻が近ければ1回分をとばしてください。".into(),
                        times: 28,
                    },
                    Drug {
                        name: "酸化マグネシウム錠330mg".into(),
                        ingredient: "酸化マグネシウム".into(),
                        quantity: "1.5".into(),
                        unit: "g".into(),
                        usage: "1日3回毎食後".into(),
                        times: 14,
                    },
                ],
            })
            .collect(),
        clinical: Vec::new(),
    }
}

fn texts(marks: &[Mark]) -> Vec<&str> {
    marks
        .iter()
        .filter_map(|m| match m {
            Mark::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_japanese_face_of_a_collection_is_chosen() {
    let f = font();
    assert_eq!(f.family(), "Noto Sans CJK JP");
    assert!(f.width("薬", 10.0) > 9.0, "a kanji is about an em");
    assert!(f.width("1", 10.0) < 7.0, "a digit is narrower");
}

#[test]
fn bytes_that_are_no_font_are_refused() {
    assert_eq!(
        PdfFont::new(b"%PDF-1.7 not a font".to_vec()).unwrap_err(),
        FontError::NotAFont
    );
    assert_eq!(PdfFont::new(Vec::new()).unwrap_err(), FontError::NotAFont);
}

#[test]
fn wrapping_keeps_every_character_and_each_line_fits() {
    let f = font();
    let text = "1日1回朝食後に服用してください。飲み忘れに気づいたときは、次の服用時刻が近ければ1回分をとばしてください。\n2行目";
    let lines = wrap(&f, text, 120.0, CELL);
    assert!(lines.len() > 3);
    for l in &lines {
        assert!(f.width(l, CELL) <= 120.0, "{l:?} is wider than the column");
    }
    assert_eq!(lines.concat(), text.replace('\n', ""));
    assert_eq!(lines.last().map(String::as_str), Some("2行目"));
    for width in 100..=140 {
        for l in wrap(&f, text, width as f32, CELL) {
            assert!(
                !l.starts_with('。') && !l.starts_with('、'),
                "{l:?} begins with punctuation at {width} pt"
            );
        }
    }
    // A column narrower than one character still gets one per line.
    assert_eq!(wrap(&f, "薬剤", 1.0, CELL), vec!["薬", "剤"]);
}

#[test]
fn a_long_history_runs_over_pages_with_the_table_head_repeated() {
    let f = font();
    let sheet = drug_sheet(&drugs(60), (day(2026, 10, 1), day(2026, 12, 31)), false, &f);
    assert!(sheet.pages.len() >= 3, "{} pages", sheet.pages.len());
    for (n, page) in sheet.pages.iter().enumerate() {
        for m in page {
            if let Mark::Text { baseline, .. } = m {
                assert!(*baseline <= BOTTOM, "page {n}: text below the body");
            }
        }
        let t = texts(page);
        if n > 0 {
            // A page that continues a day's table opens with its head.
            let first_row = t.iter().position(|s| s.contains("アムロジピン"));
            let head = t.iter().position(|s| *s == "薬剤名");
            assert!(head.is_some(), "page {n} has no table head");
            assert!(head < first_row, "page {n}: a row before the head");
        }
    }
    let first = texts(&sheet.pages[0]);
    assert_eq!(first[0], "薬剤情報");
    assert!(first.contains(&"氏名　架空 花子（ｶｸｳ ﾊﾅｺ）"));
    assert!(first.contains(&"生年月日　1948年3月9日　　性別　女"));
    assert!(first.contains(&"対象期間　2026年10月～2026年12月"));
    assert!(first.contains(&"2026年10月1日　みどり調剤薬局"));
}

#[test]
fn nothing_to_show_is_said_in_words() {
    let f = font();
    let mut empty = drugs(0);
    empty.clinical.clear();
    let sheet = drug_sheet(&empty, (day(2026, 10, 1), day(2026, 12, 31)), true, &f);
    let t = texts(&sheet.pages[0]);
    assert_eq!(t[0], "薬剤情報・診療情報");
    assert!(t.contains(&"対象期間に調剤の記録はありません。"));
    assert!(t.contains(&"対象期間に診療の記録はありません。"));
    let checkups = CheckupResultFile {
        header: header(),
        patient: Some(patient()),
        checkups: Vec::new(),
    };
    let t = texts(&checkup_sheet(&checkups, &f).pages[0]).join("\n");
    assert!(t.contains("特定健診の記録はありません。"));
}

#[test]
fn a_pdf_is_written_with_the_font_as_a_small_subset() {
    let f = font();
    let pdf =
        drug_information(&drugs(60), (day(2026, 10, 1), day(2026, 12, 31)), false, &f).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    // The collection is about 20 MB; the subset of the glyphs used is small.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    let checkups = CheckupResultFile {
        header: header(),
        patient: Some(patient()),
        checkups: vec![Checkup {
            on: day(2026, 6, 10),
            items: vec![CheckupItem {
                code: "9N001000000000001".into(),
                name: "身長".into(),
                data_type: "PQ".into(),
                value: "152.3".into(),
                unit: "cm".into(),
            }],
        }],
    };
    let pdf = checkup_information(&checkups, &f).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
}
