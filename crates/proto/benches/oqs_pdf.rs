//! Writing 薬剤情報 and 特定健診情報 as PDF, single thread: layout, the
//! Japanese font's subset and the file, from a result already read. The
//! font is Debian's Noto Sans CJK JP (scripts/ensure-packages installs it).
//! Nothing is asked of it but to be known: the server renders on a blocking
//! thread, and a figure says what that thread spends.

// Benches are not compiled as tests, so allow-expect-in-tests does not reach
// them: a setup step that fails leaves nothing to measure.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use zaitaku_domain::codes::Sex;
use zaitaku_domain::institution::{InstitutionCode, InstitutionKind};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_proto::oqs::medical::{
    Checkup, CheckupItem, CheckupResultFile, Drug, DrugDay, DrugResult, MedicalHeader, Patient,
};
use zaitaku_proto::oqs::pdf::{PdfFont, checkup_information, drug_information};

const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

fn header() -> MedicalHeader {
    MedicalHeader {
        process_execution_time: day(12, 7).and_hms_opt(9, 0, 0).expect("time"),
        medical_institution_code: InstitutionCode::build(
            Prefecture::from_digits("13").expect("prefecture"),
            InstitutionKind::Medical,
            1,
            1001,
        )
        .expect("code"),
        arbitrary_file_identifier: None,
        refusal: None,
        character_code: CharacterCode::ShiftJis,
    }
}

fn patient() -> Patient {
    Patient {
        name: "架空 花子".into(),
        kana: "ｶｸｳ ﾊﾅｺ".into(),
        birth: NaiveDate::from_ymd_opt(1948, 3, 9).expect("date"),
        sex: Sex::Female,
    }
}

/// `days` days of dispensing, three drugs each: 4 days fill a page, 60
/// about thirteen.
fn drugs(days: u32) -> DrugResult {
    DrugResult {
        header: header(),
        patient: Some(patient()),
        drugs: (0..days)
            .map(|i| DrugDay {
                date: day(10 + i / 28 % 3, 1 + i % 28),
                institution: "みどり調剤薬局 西町店".into(),
                drugs: [
                    "アムロジピン錠５ｍｇ",
                    "酸化マグネシウム錠330mg",
                    "リマプロストアルファデクス錠5μg",
                ]
                .iter()
                .map(|name| Drug {
                    name: (*name).into(),
                    ingredient: "成分名の例".into(),
                    quantity: "56".into(),
                    unit: "錠".into(),
                    usage: "1回1錠 1日2回 朝夕食後に服用してください。".into(),
                    times: 28,
                })
                .collect(),
            })
            .collect(),
        clinical: Vec::new(),
    }
}

fn checkups() -> CheckupResultFile {
    let items = [
        ("身長", "158.7", "cm"),
        ("体重", "68.5", "kg"),
        ("腹囲（実測）", "92.3", "cm"),
        ("BMI", "27.2", "kg/m2"),
        ("収縮期血圧（その他）", "133", "mmHg"),
        ("拡張期血圧（その他）", "79", "mmHg"),
        ("HbA1c（NGSP値）", "6.0", "%"),
        ("LDLコレステロール", "118", "mg/dl"),
        ("HDLコレステロール", "62", "mg/dl"),
        ("中性脂肪（トリグリセリド）", "135", "mg/dl"),
    ];
    CheckupResultFile {
        header: header(),
        patient: Some(patient()),
        checkups: (0..3)
            .map(|y| Checkup {
                on: NaiveDate::from_ymd_opt(2024 + y, 6, 10).expect("date"),
                items: items
                    .iter()
                    .map(|(name, value, unit)| CheckupItem {
                        code: "9N001000000000001".into(),
                        name: (*name).into(),
                        data_type: "PQ".into(),
                        value: (*value).into(),
                        unit: (*unit).into(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn pdf(c: &mut Criterion) {
    let font = PdfFont::new(std::fs::read(NOTO_CJK).expect("Noto Sans CJK is installed"))
        .expect("a Japanese face");
    let period = (day(10, 1), day(12, 31));
    let mut g = c.benchmark_group("oqs_pdf");
    g.sample_size(20);
    for days in [4, 60] {
        let result = drugs(days);
        g.bench_function(format!("drugs_{days}_days"), |b| {
            b.iter(|| drug_information(black_box(&result), period, false, &font).expect("pdf"))
        });
    }
    let result = checkups();
    g.bench_function("checkups_3", |b| {
        b.iter(|| checkup_information(black_box(&result), &font).expect("pdf"))
    });
    g.finish();
}

criterion_group!(benches, pdf);
criterion_main!(benches);
