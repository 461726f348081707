//! 資格確認結果 as the staff app shows it (seed 001 「資格確認結果画面の見方」,
//! 画面番号 C-04-01-W): the messages above, 照会番号 and 確認日, the
//! 資格情報 rows of 医療保険 or 医療扶助, and the expandable sections
//! (要配慮情報（備考）, 高齢受給者証, 限度額適用認定証, 特定疾病療養受療証).
//! It is built once, at the check, and kept as it is: the result search
//! shows this snapshot again, not a new inquiry. 「コピー」 copies its rows
//! as `項目<TAB>値` lines.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::QualificationValidity;
use crate::eligibility::{Coverage, Eligibility};
use crate::person::{japanese_date, wareki};

/// The seed's message for a certificate with three months or less left.
pub const EXPIRING_MESSAGE: &str = "マイナンバーカードに記録されている電子証明書の有効期限が残り3カ月を切りました。住民票がある市区町村から送付される有効期限通知書をご確認いただくか、住民票がある市区町村の窓口にお問い合わせください。";
/// The seed's message for a certificate in its grace period.
pub const GRACE_MESSAGE: &str = "マイナンバーカードの電子証明書の有効期限が切れています。当期間は猶予期間であり、資格情報の確認が可能ですが、お早めに住民票がある市区町村の窓口にお問い合わせください。";
/// The seed's message for 医療扶助 (without a final 「。」, as the seed writes it).
pub const MEDICAL_ASSISTANCE_MESSAGE: &str =
    "医療扶助の対象者です。必要な提出書類等により、資格確認を行ってください";
pub const INVALID_MESSAGE: &str = "この資格は無効です";

/// Where the card's certificate stands, as far as the result says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateNotice {
    None,
    /// Three months or less left.
    Expiring,
    /// Expired, within the grace period.
    Grace,
}

/// One 項目 and its 値.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

/// An expandable section (▼).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Above everything, in the seed's words.
    pub messages: Vec<String>,
    /// この資格は無効です.
    pub invalid: bool,
    /// 照会番号: empty when none is registered (shown blank).
    pub reference: String,
    /// 確認日.
    pub checked_on: String,
    /// 医療保険 or 医療扶助.
    pub heading: String,
    /// 資格情報.
    pub rows: Vec<Row>,
    pub sections: Vec<Section>,
    /// For the search list: 氏名 and 資格有効 / 資格無効.
    pub name: String,
    pub valid: bool,
    /// 居宅同意取得型: the check registered the patient's consent.
    #[serde(default)]
    pub consent_registered: bool,
}

fn row(label: &str, value: impl Into<String>) -> Row {
    Row {
        label: label.to_owned(),
        value: value.into(),
    }
}

/// `10,000円`.
fn yen(amount: u32) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + "円"
}

/// What the check found, as the result screen shows it on `today`.
/// `specific_disease` is the patient's consent to show 特定疾病療養受療証
/// (the checkbox of 認証方法選択).
pub fn build(
    e: &Eligibility,
    notice: CertificateNotice,
    reference: Option<&str>,
    specific_disease: bool,
    today: NaiveDate,
) -> CheckResult {
    let resolved = e.resolve(today);
    let valid = matches!(
        resolved.validity,
        QualificationValidity::Valid | QualificationValidity::Multiple
    );
    let q = resolved.qualification;
    let assistance = q.is_some_and(|q| q.is_medical_assistance());
    let mut messages = Vec::new();
    match notice {
        CertificateNotice::None => {}
        CertificateNotice::Expiring => messages.push(EXPIRING_MESSAGE.to_owned()),
        CertificateNotice::Grace => messages.push(GRACE_MESSAGE.to_owned()),
    }
    if assistance && valid {
        messages.push(MEDICAL_ASSISTANCE_MESSAGE.to_owned());
    }
    let p = &e.person;
    let mut rows = Vec::new();
    match q.map(|q| &q.coverage) {
        Some(Coverage::MedicalAssistance {
            welfare_office_name,
            ..
        }) => {
            rows.push(row("福祉事務所名", welfare_office_name.clone()));
            rows.push(row("フリガナ", p.name_kana.clone()));
            rows.push(row("氏名", p.name.clone()));
            rows.push(row("生年月日", wareki(p.birth_date)));
            rows.push(row("性別", p.sex.label()));
            rows.push(row("区分", "医療扶助"));
        }
        Some(Coverage::Insurance {
            insurer_number,
            insurer_name,
            symbol,
            number,
            branch,
            personal_family,
            insured_name,
            ..
        }) => {
            rows.push(row("保険者番号", insurer_number.to_string()));
            rows.push(row("保険者名", insurer_name.clone()));
            rows.push(row("記号", symbol.clone()));
            rows.push(row("番号", number.clone()));
            rows.push(row("枝番", branch.to_string()));
            rows.push(row("フリガナ", p.name_kana.clone()));
            rows.push(row("氏名", p.name.clone()));
            rows.push(row("生年月日", wareki(p.birth_date)));
            rows.push(row("性別", p.sex.label()));
            rows.push(row("区分", e.category(today).label()));
            if let Some(q) = q {
                rows.push(row("有効開始日", japanese_date(q.valid.from)));
                rows.push(row(
                    "有効終了日",
                    q.valid.to.map(japanese_date).unwrap_or_default(),
                ));
                rows.push(row("資格取得年月日", japanese_date(q.acquired_on)));
            }
            rows.push(row(
                "負担割合",
                e.burden_ratio(today)
                    .map(|r| r.label().to_owned())
                    .unwrap_or_default(),
            ));
            rows.push(row("本人・家族の別", personal_family.label()));
            rows.push(row("被保険者氏名", insured_name.clone()));
        }
        None => {
            rows.push(row("フリガナ", p.name_kana.clone()));
            rows.push(row("氏名", p.name.clone()));
            rows.push(row("生年月日", wareki(p.birth_date)));
            rows.push(row("性別", p.sex.label()));
        }
    }

    let mut sections = Vec::new();
    if let Some(c) = &p.considerate {
        sections.push(Section {
            title: "要配慮情報（備考）".into(),
            rows: vec![
                row("氏名カナ", c.name_kana.clone()),
                row("氏名", c.name.clone()),
                row("性別", c.sex.label()),
            ],
        });
    }
    if !assistance {
        if let Some(c) = e.elderly_on(today) {
            sections.push(Section {
                title: "高齢受給者証".into(),
                rows: vec![
                    row("有効開始日", japanese_date(c.valid.from)),
                    row(
                        "有効終了日",
                        c.valid.to.map(japanese_date).unwrap_or_default(),
                    ),
                    row("負担割合", c.burden_ratio.label()),
                ],
            });
        }
        if let Some(l) = e.limit_on(today) {
            sections.push(Section {
                title: "限度額適用認定証".into(),
                rows: vec![
                    row("証区分", l.kind.label()),
                    row("適用区分", l.class.label()),
                    row("有効開始年月日", japanese_date(l.valid.from)),
                    row(
                        "有効終了年月日",
                        l.valid.to.map(japanese_date).unwrap_or_default(),
                    ),
                    row(
                        "長期入院該当年月日",
                        l.long_term_from.map(japanese_date).unwrap_or_default(),
                    ),
                ],
            });
        }
        if specific_disease {
            let rows: Vec<Row> = e
                .specific_diseases_on(today)
                .take(Eligibility::MAX_SPECIFIC_DISEASES)
                .flat_map(|d| {
                    [
                        row("疾病区分", d.disease.label()),
                        row("有効開始年月日", japanese_date(d.valid.from)),
                        row(
                            "有効終了年月日",
                            d.valid.to.map(japanese_date).unwrap_or_default(),
                        ),
                        row("自己負担額", yen(d.self_pay_limit_yen)),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                sections.push(Section {
                    title: "特定疾病療養受療証".into(),
                    rows,
                });
            }
        }
    }

    CheckResult {
        messages,
        invalid: !valid,
        reference: reference.unwrap_or_default().to_owned(),
        checked_on: japanese_date(today),
        heading: if assistance {
            "医療扶助"
        } else {
            "医療保険"
        }
        .into(),
        rows,
        sections,
        name: p.name.clone(),
        valid,
        consent_registered: false,
    }
}

impl CheckResult {
    /// 「コピー」: one `項目<TAB>値` line per row, in the order shown.
    pub fn as_text(&self) -> String {
        let mut lines = Vec::new();
        for m in &self.messages {
            lines.push(m.clone());
        }
        if self.invalid {
            lines.push(INVALID_MESSAGE.to_owned());
        }
        lines.push(format!("照会番号\t{}", self.reference));
        lines.push(format!("確認日\t{}", self.checked_on));
        lines.push(self.heading.clone());
        for r in &self.rows {
            lines.push(format!("{}\t{}", r.label, r.value));
        }
        for s in &self.sections {
            lines.push(s.title.clone());
            for r in &s.rows {
                lines.push(format!("{}\t{}", r.label, r.value));
            }
        }
        lines.join("\n") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{
        LimitCertificateKind, LimitClass, LossReason, PersonalFamily, Sex, SpecificDisease,
    };
    use crate::eligibility::{
        LimitCertificate, Loss, Period, Qualification, SpecificDiseaseCertificate,
    };
    use crate::insurer::{BranchNumber, InsurerNumber};
    use crate::person::{ConsiderateInfo, Person};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn insured(loss: Option<Loss>) -> Eligibility {
        Eligibility {
            person: Person {
                id: 1,
                name: "資格 太郎".into(),
                name_kana: "シカク タロウ".into(),
                birth_date: d(1952, 1, 1),
                sex: Sex::Male,
                postal_code: "1000001".into(),
                address: "東京都千代田区試験町1-1".into(),
                considerate: None,
                insurance_use_registered: true,
            },
            qualifications: vec![Qualification {
                id: 1,
                coverage: Coverage::Insurance {
                    insurer_number: InsurerNumber::parse("06130488").unwrap(),
                    insurer_name: "限定資格保険組合".into(),
                    symbol: "0123".into(),
                    number: "00045678".into(),
                    branch: BranchNumber::parse("02").unwrap(),
                    personal_family: PersonalFamily::Insured,
                    insured_name: "資格 太郎".into(),
                    burden_ratio: None,
                },
                acquired_on: d(2023, 4, 1),
                issued_on: None,
                valid: Period {
                    from: d(2023, 4, 1),
                    to: Some(d(2027, 3, 31)),
                },
                loss,
            }],
            elderly: vec![],
            limits: vec![],
            specific_diseases: vec![],
            subsidies: vec![],
        }
    }

    fn value<'a>(r: &'a CheckResult, label: &str) -> &'a str {
        &r.rows.iter().find(|x| x.label == label).unwrap().value
    }

    #[test]
    fn the_insurance_rows_keep_leading_zeros_in_the_seed_order() {
        let r = build(
            &insured(None),
            CertificateNotice::None,
            None,
            false,
            d(2026, 12, 6),
        );
        let labels: Vec<&str> = r.rows.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "保険者番号",
                "保険者名",
                "記号",
                "番号",
                "枝番",
                "フリガナ",
                "氏名",
                "生年月日",
                "性別",
                "区分",
                "有効開始日",
                "有効終了日",
                "資格取得年月日",
                "負担割合",
                "本人・家族の別",
                "被保険者氏名"
            ]
        );
        assert_eq!(value(&r, "記号"), "0123");
        assert_eq!(value(&r, "番号"), "00045678");
        assert_eq!(value(&r, "枝番"), "02");
        assert_eq!(value(&r, "生年月日"), "昭和27年01月01日");
        assert_eq!(value(&r, "有効開始日"), "2023年04月01日");
        assert_eq!(r.reference, "", "no 照会番号: blank");
        assert!(r.valid && !r.invalid && r.messages.is_empty());
        assert_eq!(r.heading, "医療保険");
        let text = r.as_text();
        assert!(text.contains("照会番号\t\n") && text.contains("番号\t00045678\n"));
        assert!(
            text.lines()
                .skip(3)
                .all(|l| l.split('\t').count() == 2 || !l.contains('\t'))
        );
    }

    #[test]
    fn certificate_notices_and_an_ended_qualification_say_so() {
        let today = d(2026, 12, 6);
        let expiring = build(
            &insured(None),
            CertificateNotice::Expiring,
            Some("A-1"),
            false,
            today,
        );
        assert_eq!(expiring.messages, [EXPIRING_MESSAGE]);
        assert_eq!(expiring.reference, "A-1");
        let grace = build(&insured(None), CertificateNotice::Grace, None, false, today);
        assert_eq!(grace.messages, [GRACE_MESSAGE]);
        let lost = Loss {
            on: d(2026, 4, 1),
            reason: LossReason::Retirement,
        };
        let invalid = build(
            &insured(Some(lost)),
            CertificateNotice::None,
            None,
            false,
            today,
        );
        assert!(invalid.invalid && !invalid.valid);
        assert!(invalid.as_text().starts_with("この資格は無効です\n"));
    }

    #[test]
    fn sections_open_only_what_exists_and_what_was_consented() {
        let today = d(2026, 12, 6);
        let mut e = insured(None);
        e.person.considerate = Some(ConsiderateInfo {
            name: "他資格 太郎".into(),
            name_kana: "シカク タロウ".into(),
            sex: Sex::Male,
        });
        e.limits.push(LimitCertificate {
            kind: LimitCertificateKind::LimitAndMealReduction,
            class: LimitClass::A01,
            valid: Period {
                from: d(2023, 4, 1),
                to: Some(d(2027, 3, 31)),
            },
            long_term_from: Some(d(2023, 11, 1)),
        });
        for disease in [SpecificDisease::Dialysis, SpecificDisease::Hemophilia] {
            e.specific_diseases.push(SpecificDiseaseCertificate {
                disease,
                valid: Period {
                    from: d(2023, 4, 1),
                    to: Some(d(2027, 3, 31)),
                },
                self_pay_limit_yen: 10_000,
            });
        }
        let titles = |r: &CheckResult| -> Vec<String> {
            r.sections.iter().map(|s| s.title.clone()).collect()
        };
        let without = build(&e, CertificateNotice::None, None, false, today);
        assert_eq!(titles(&without), ["要配慮情報（備考）", "限度額適用認定証"]);
        let with = build(&e, CertificateNotice::None, None, true, today);
        assert_eq!(
            titles(&with),
            [
                "要配慮情報（備考）",
                "限度額適用認定証",
                "特定疾病療養受療証"
            ]
        );
        let diseases = &with.sections[2].rows;
        assert_eq!(diseases.len(), 8, "two certificates, four rows each");
        assert_eq!(diseases[3].value, "10,000円");
        assert_eq!(
            with.sections[1].rows[0].value,
            "限度額適用・標準負担額減額認定証"
        );
        assert_eq!(with.sections[1].rows[4].value, "2023年11月01日");
    }

    #[test]
    fn yen_is_written_with_thousands() {
        assert_eq!(yen(10_000), "10,000円");
        assert_eq!(yen(500), "500円");
        assert_eq!(yen(1_234_567), "1,234,567円");
        assert_eq!(yen(0), "0円");
    }
}
