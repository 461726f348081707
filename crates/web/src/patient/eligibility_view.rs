//! The 資格情報 block of the completion screen (seed 000), built from the
//! registry: what is shown, in the seed's order and wording.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use zaitaku_domain::consent::{Choice, ConsentItem};
use zaitaku_domain::eligibility::{Coverage, Eligibility};
use zaitaku_domain::person::{japanese_date, wareki};

const NONE_ISSUED: &str = "交付なし";
const NOT_CONSENTED: &str = "同意がないため表示されません";

/// One label–value row.
pub struct Row {
    pub label: &'static str,
    pub value: String,
}

pub struct EligibilityView {
    pub name: String,
    pub name_kana: String,
    pub main: Vec<Row>,
    /// 「その他情報 +」: expandable details.
    pub other: Vec<Row>,
    /// 医療費助成受給者証情報: one line per certificate.
    pub subsidies: Vec<String>,
    /// 医療扶助: the seed's message.
    pub medical_assistance: bool,
}

pub fn build(
    e: &Eligibility,
    choices: &BTreeMap<ConsentItem, Choice>,
    limit_offered: bool,
    today: NaiveDate,
) -> EligibilityView {
    let agreed = |item| choices.get(&item) == Some(&Choice::Agree);
    let resolved = e.resolve(today);
    let q = resolved.qualification.filter(|q| q.covers(today));
    let mut main = vec![Row {
        label: "区分",
        value: e.category(today).label().to_owned(),
    }];
    main.push(Row {
        label: "一部負担割合",
        value: e
            .burden_ratio(today)
            .map_or("—".to_owned(), |r| r.burden_label().to_owned()),
    });
    // 限度額 is released by its own item where the institution offers it
    // (online care), and shown as in seed 000 where it does not.
    let limit_visible = !limit_offered || agreed(ConsentItem::LimitAmount);
    let limit = e.limit_on(today);
    main.push(Row {
        label: "限度額適用認定証区分",
        value: match (limit_visible, limit) {
            (false, _) => NOT_CONSENTED.to_owned(),
            (true, Some(l)) => l.kind.label().to_owned(),
            (true, None) => NONE_ISSUED.to_owned(),
        },
    });
    main.push(Row {
        label: "限度額適用認定証適用区分",
        value: match (limit_visible, limit) {
            (false, _) => NOT_CONSENTED.to_owned(),
            (true, Some(l)) => l.class.label().to_owned(),
            (true, None) => NONE_ISSUED.to_owned(),
        },
    });
    let diseases: Vec<&str> = e
        .specific_diseases_on(today)
        .map(|d| d.disease.label())
        .collect();
    main.push(Row {
        label: "特定疾病療養受療証認定疾病区分",
        value: if !agreed(ConsentItem::SpecificDisease) {
            NOT_CONSENTED.to_owned()
        } else if diseases.is_empty() {
            NONE_ISSUED.to_owned()
        } else {
            diseases.join("、")
        },
    });
    main.push(Row {
        label: "高齢受給者証一部負担金割合",
        value: e.elderly_on(today).map_or(NONE_ISSUED.to_owned(), |c| {
            c.burden_ratio.burden_label().to_owned()
        }),
    });

    let mut other = Vec::new();
    let mut medical_assistance = false;
    if let Some(q) = q {
        match &q.coverage {
            Coverage::Insurance {
                insurer_number,
                insurer_name,
                symbol,
                number,
                branch,
                personal_family,
                insured_name,
                ..
            } => {
                other.push(Row {
                    label: "保険者番号",
                    value: insurer_number.to_string(),
                });
                other.push(Row {
                    label: "保険者名",
                    value: insurer_name.clone(),
                });
                other.push(Row {
                    label: "記号",
                    value: if symbol.is_empty() {
                        "—".to_owned()
                    } else {
                        symbol.clone()
                    },
                });
                other.push(Row {
                    label: "番号",
                    value: format!("{number}（枝番 {branch}）"),
                });
                other.push(Row {
                    label: "本人・家族の別",
                    value: personal_family.label().to_owned(),
                });
                other.push(Row {
                    label: "被保険者氏名",
                    value: insured_name.clone(),
                });
            }
            Coverage::MedicalAssistance {
                welfare_office_name,
                ..
            } => {
                medical_assistance = true;
                other.push(Row {
                    label: "福祉事務所名",
                    value: welfare_office_name.clone(),
                });
            }
        }
        other.push(Row {
            label: "資格取得年月日",
            value: japanese_date(q.acquired_on),
        });
        other.push(Row {
            label: "有効開始日",
            value: japanese_date(q.valid.from),
        });
        if let Some(to) = q.valid.to {
            other.push(Row {
                label: "有効終了日",
                value: japanese_date(to),
            });
        }
    }
    other.push(Row {
        label: "生年月日",
        value: wareki(e.person.birth_date),
    });
    other.push(Row {
        label: "性別",
        value: e.person.sex.label().to_owned(),
    });
    if let Some(c) = &e.person.considerate {
        other.push(Row {
            label: "要配慮情報（備考）",
            value: format!("{}（{}）・{}", c.name, c.name_kana, c.sex.label()),
        });
    }

    let subsidies = if agreed(ConsentItem::Subsidy) {
        let lines: Vec<String> = e
            .subsidies_on(today)
            .map(|s| s.payer_number.law().label().to_owned())
            .collect();
        if lines.is_empty() {
            vec![NONE_ISSUED.to_owned()]
        } else {
            lines
        }
    } else {
        vec![NOT_CONSENTED.to_owned()]
    };

    EligibilityView {
        name: e.person.name.clone(),
        name_kana: e.person.name_kana.clone(),
        main,
        other,
        subsidies,
        medical_assistance,
    }
}
