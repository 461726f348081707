//! Fixtures for tests against the real server: institutions, accounts,
//! synthetic patients with their records, consents and cards, the shared
//! password, dates relative to today in Japan.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::{
    CareKind, Channel, Choice, ConsentAction, ConsentDecision, ConsentItem,
};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, DrugRecord};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_identity::{CardKind, IssueCard};
use zaitaku_storage::{
    NewAccount, NewConsent, PersonRecords, Store, StoredAccount, StoredInstitution,
};
use zaitaku_synth::{Population, SyntheticRecord};
use zaitaku_web::AppState;

/// The password of every account the tests create.
pub const PASSWORD: &str = "Zaitaku#2026";
/// Meets the rules but is nobody's password.
pub const WRONG: &str = "Wrong#2026x";

/// The same message for an unknown ID, a wrong password and a disabled account.
pub const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";

/// Argon2 is slow in a debug build: hash [`PASSWORD`] once per test binary.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| zaitaku_web::admin::hash_password(PASSWORD).unwrap())
}

/// Synthetic persons' rows as the store takes them.
pub fn person_records(people: &[SyntheticRecord]) -> Vec<PersonRecords<'_>> {
    people
        .iter()
        .map(|r| PersonRecords {
            eligibility: &r.eligibility,
            drugs: &r.drugs,
            clinical: &r.clinical,
            checkups: &r.checkups,
        })
        .collect()
}

/// The first `n` persons of synthetic population `seed` as of `today`,
/// stored with their records.
pub async fn population(
    store: &Store,
    seed: u64,
    today: NaiveDate,
    n: usize,
) -> Vec<SyntheticRecord> {
    let people: Vec<_> = Population::new(seed, today).persons().take(n).collect();
    store
        .insert_persons(&person_records(&people))
        .await
        .unwrap();
    people
}

/// Today in Japan, the calendar the administration pages use.
pub fn today() -> NaiveDate {
    zaitaku_web::today()
}

pub fn days_ago(n: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(n)
}

/// The JST calendar day of an instant, as the date inputs expect it.
pub fn jst_day(t: DateTime<Utc>) -> String {
    t.with_timezone(&zaitaku_domain::consent::jst())
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// An institution in Tokyo; e-prescription where the kind allows it.
pub async fn institution(
    store: &Store,
    kind: InstitutionKind,
    number: u16,
    name: &str,
    enabled: bool,
) -> StoredInstitution {
    let code = InstitutionCode::build(Prefecture::new(13).unwrap(), kind, 1, number).unwrap();
    let mut i = Institution::new(code, name, kind.issues_prescriptions()).unwrap();
    i.remote_function_enabled = enabled;
    store
        .insert_institution(&i, &zaitaku_storage::new_url_token().unwrap(), Utc::now())
        .await
        .unwrap()
}

/// An account whose password is [`PASSWORD`], usable since a month ago.
/// `institution` is `None` for an operator.
pub async fn account(
    store: &Store,
    institution: Option<&StoredInstitution>,
    user_id: &str,
    role: Role,
    name: &str,
) -> StoredAccount {
    store
        .insert_account(
            &NewAccount {
                institution_id: institution.map(|i| i.id),
                user_id,
                role,
                name,
                name_kana: "シケン　ユーザ",
                start_date: today() - Duration::days(30),
                password_hash: password_hash(),
                must_change_password: false,
            },
            Utc::now(),
        )
        .await
        .unwrap()
}

/// Everything stored about one synthetic person.
#[derive(Default)]
pub struct Records {
    pub drugs: Vec<DrugRecord>,
    pub clinical: Vec<ClinicalEvent>,
    pub checkups: Vec<CheckupResult>,
}

pub fn drug(on: NaiveDate, name: &str) -> DrugRecord {
    DrugRecord {
        dispensed_on: on,
        prescribed_on: on,
        setting: zaitaku_domain::medical::DispensingSetting::Pharmacy,
        institution_name: "試験調剤薬局".into(),
        drug_name: name.into(),
        generic_name: format!("{name}（一般名）"),
        dosage: "1回1錠 1日1回 朝食後".into(),
        route: zaitaku_domain::medical::DrugRoute::Oral,
        quantity: 14.0,
        unit: "錠".into(),
        days: 14,
        times: 14,
    }
}

/// A synthetic person (registered for insurance use) with a chosen name.
pub async fn person(store: &Store, id: i64, name: &str, birth: NaiveDate, records: &Records) {
    let mut e: Eligibility = eligibility(id, birth, true);
    e.person.name = name.into();
    store
        .insert_persons(&[PersonRecords {
            eligibility: &e,
            drugs: &records.drugs,
            clinical: &records.clinical,
            checkups: &records.checkups,
        }])
        .await
        .unwrap();
}

pub fn birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1950, 7, 1).unwrap()
}

/// One consent event to record.
pub struct Consent {
    pub action: ConsentAction,
    pub care_kind: CareKind,
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub recorded_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Registered on the patient's own device: a photo-ID check is due.
    pub own_device: bool,
}

impl Consent {
    /// A registration agreeing to every item a medical institution offers
    /// by default.
    pub fn register(care_kind: CareKind, recorded_at: DateTime<Utc>) -> Self {
        Self {
            action: ConsentAction::Register,
            care_kind,
            choices: ConsentItem::default_for(InstitutionKind::Medical)
                .into_iter()
                .map(|i| (i, Choice::Agree))
                .collect(),
            recorded_at,
            valid_until: None,
            own_device: false,
        }
    }

    pub fn revoke(care_kind: CareKind, recorded_at: DateTime<Utc>) -> Self {
        Self {
            action: ConsentAction::Revoke,
            care_kind,
            choices: BTreeMap::new(),
            recorded_at,
            valid_until: None,
            own_device: false,
        }
    }

    pub fn with(mut self, item: ConsentItem, choice: Choice) -> Self {
        self.choices.insert(item, choice);
        self
    }

    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.valid_until = Some(t);
        self
    }

    pub fn own_device(mut self) -> Self {
        self.own_device = true;
        self
    }
}

pub async fn consent(store: &Store, institution: &StoredInstitution, person_id: i64, c: Consent) {
    let decision = ConsentDecision {
        care_kind: c.care_kind,
        choices: c.choices,
        prescription_form: None,
        valid_until: c.valid_until,
    };
    store
        .record_consent(&NewConsent {
            institution_id: institution.id,
            person_id,
            action: c.action,
            channel: if c.own_device {
                Channel::Web
            } else {
                Channel::Counter
            },
            decision: &decision,
            recorded_at: c.recorded_at,
            recorded_by: "patient",
            photo_id_reason: c
                .own_device
                .then_some(zaitaku_domain::photo_id::PhotoIdReason::OwnDevice),
            idempotency_key: None,
        })
        .await
        .unwrap();
}

/// A physical card issued on `issued_on` (its certificate runs to the
/// holder's fifth birthday after that day).
pub async fn card(state: &AppState, person_id: i64, issued_on: NaiveDate) {
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    state
        .identity
        .issue_card(
            &IssueCard {
                person_id,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on,
                authority_id: None,
                in_demo_wallet: false,
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

/// A birth date and an issue day such that the certificate ended about a
/// month ago: it is in its 3-month grace period now.
pub fn grace_card_dates() -> (NaiveDate, NaiveDate) {
    let mut end = today() - Duration::days(30);
    if (end.month(), end.day()) == (2, 29) {
        end -= Duration::days(1);
    }
    let birth = end.with_year(1960).unwrap();
    let issued_on = end.with_year(end.year() - 5).unwrap() + Duration::days(10);
    assert_eq!(
        zaitaku_card::fifth_birthday_after(issued_on, birth),
        Some(end),
        "the certificate must have ended on {end}"
    );
    (birth, issued_on)
}

/// A birth date and an issue day such that the certificate ends in about
/// six weeks: within its last three months, so a check warns of it.
pub fn expiring_card_dates() -> (NaiveDate, NaiveDate) {
    let mut end = today() + Duration::days(45);
    if (end.month(), end.day()) == (2, 29) {
        end += Duration::days(1);
    }
    let birth = end.with_year(1960).unwrap();
    let issued_on = end.with_year(end.year() - 5).unwrap() + Duration::days(10);
    assert_eq!(
        zaitaku_card::fifth_birthday_after(issued_on, birth),
        Some(end),
        "the certificate must end on {end}"
    );
    (birth, issued_on)
}

/// Runs one SQL statement behind the application's back.
pub async fn tamper(store: &zaitaku_storage::Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A synthetic person with a health-insurance qualification in force, so
/// that the web service lets them register.
pub async fn insured_person(store: &Store, id: i64, name: &str, kana: &str, birth: NaiveDate) {
    use zaitaku_domain::codes::PersonalFamily;
    use zaitaku_domain::eligibility::{Coverage, Period, Qualification};
    use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
    let mut e: Eligibility = eligibility(id, birth, true);
    e.person.name = name.into();
    e.person.name_kana = kana.into();
    e.qualifications.push(Qualification {
        id: 0,
        coverage: Coverage::Insurance {
            insurer_number: InsurerNumber::build(Some(6), Prefecture::new(13).unwrap(), 48)
                .unwrap(),
            insurer_name: "ひかり試験健康保険組合".into(),
            symbol: "1234".into(),
            number: format!("{id}"),
            branch: BranchNumber::parse("00").unwrap(),
            personal_family: PersonalFamily::Insured,
            insured_name: name.into(),
            burden_ratio: None,
        },
        acquired_on: NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(),
        issued_on: NaiveDate::from_ymd_opt(2020, 4, 15),
        valid: Period {
            from: NaiveDate::from_ymd_opt(2020, 4, 1).unwrap(),
            to: None,
        },
        loss: None,
    });
    store
        .insert_persons(&[PersonRecords::eligibility_only(&e)])
        .await
        .unwrap();
}

/// A card for the demo wallet of the stand-in authenticator.
pub async fn wallet_card(state: &AppState, person_id: i64) -> i64 {
    state.identity.ensure_authorities(Utc::now()).await.unwrap();
    state
        .identity
        .issue_card(
            &IssueCard {
                person_id,
                kind: CardKind::Physical,
                pin: Some("1234".into()),
                issued_on: today() - Duration::days(30),
                authority_id: None,
                in_demo_wallet: true,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

/// A synthetic person with no qualifications or certificates, for tests that
/// only need someone to hold a card (also `zaitaku_testkit::person`).
pub fn eligibility(
    id: i64,
    birth: chrono::NaiveDate,
    insurance_use_registered: bool,
) -> zaitaku_domain::eligibility::Eligibility {
    use zaitaku_domain::person::Person;
    zaitaku_domain::eligibility::Eligibility {
        person: Person {
            id,
            name: "試験 花子".into(),
            name_kana: "シケン\u{3000}ハナコ".into(),
            birth_date: birth,
            sex: zaitaku_domain::codes::Sex::Female,
            postal_code: "1000001".into(),
            address: "東京都みどり市1-1".into(),
            considerate: None,
            insurance_use_registered,
        },
        qualifications: vec![],
        elderly: vec![],
        limits: vec![],
        specific_diseases: vec![],
        subsidies: vec![],
    }
}
