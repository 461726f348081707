//! `zaitaku demo`: a ready-to-try server with synthetic institutions and patients.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use zaitaku_domain::account::Role;
use zaitaku_domain::codes::QualificationValidity;
use zaitaku_domain::consent::ConsentItem;
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::institution::{Institution, InstitutionCode, InstitutionKind};
use zaitaku_domain::person::{self, wareki};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_storage::{Store, StoredInstitution};

/// The demo's fixed synthetic population seed.
pub const DEMO_SEED: u64 = 2026;

struct DemoInstitution {
    kind: InstitutionKind,
    number: u16,
    name: &'static str,
    eprescription: bool,
    online: bool,
}

const INSTITUTIONS: &[DemoInstitution] = &[
    DemoInstitution {
        kind: InstitutionKind::Medical,
        number: 1001,
        name: "さくら在宅クリニック",
        eprescription: true,
        online: false,
    },
    DemoInstitution {
        kind: InstitutionKind::Medical,
        number: 1002,
        name: "みなと訪問診療所",
        eprescription: false,
        online: false,
    },
    DemoInstitution {
        kind: InstitutionKind::Pharmacy,
        number: 1003,
        name: "あおば薬局",
        eprescription: false,
        online: false,
    },
    DemoInstitution {
        kind: InstitutionKind::HomeNursing,
        number: 1004,
        name: "ひだまり訪問看護ステーション",
        eprescription: false,
        online: false,
    },
    DemoInstitution {
        kind: InstitutionKind::Medical,
        number: 1005,
        name: "つばさオンラインクリニック",
        eprescription: true,
        online: true,
    },
];

pub fn database_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("demo.sqlite3").display())
}

/// Removes the demo database and its WAL files.
pub fn reset(dir: &Path) -> Result<()> {
    for name in ["demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm"] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("{} を削除できません", p.display()))?;
        }
    }
    Ok(())
}

/// Creates the demo institutions unless they exist; returns them in order.
pub async fn institutions(store: &Store) -> Result<Vec<StoredInstitution>> {
    let existing = store.list_institutions().await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    let tokyo = Prefecture::new(13).context("prefecture 13")?;
    let mut out = Vec::new();
    for d in INSTITUTIONS {
        let code = InstitutionCode::build(tokyo, d.kind, 1, d.number)?;
        let mut inst = Institution::new(code, d.name, d.eprescription)?;
        inst.remote_function_enabled = true;
        if d.online {
            let mut items = inst.consent_items.clone();
            items.push(ConsentItem::LimitAmount);
            inst.set_consent_items(&items);
        }
        let token = zaitaku_storage::new_url_token()?;
        out.push(store.insert_institution(&inst, &token, Utc::now()).await?);
    }
    Ok(out)
}

/// The demo's staff logins, the same at every demo institution: one per role.
pub const ADMIN_USER: &str = "admin01";
pub const STAFF_USER: &str = "staff01";
pub const VIEWER_USER: &str = "viewer01";
pub const ADMIN_PASSWORD: &str = "Zaitaku#2026";
/// The platform operator's login (`/operator/login`).
pub const OPERATOR_USER: &str = "ops01";
pub const OPERATOR_PASSWORD: &str = "Operator#2026";

const DEMO_STAFF: [(&str, Role, &str, &str); 3] = [
    (ADMIN_USER, Role::Admin, "管理 太郎", "カンリ　タロウ"),
    (STAFF_USER, Role::General, "訪問 花子", "ホウモン　ハナコ"),
    (
        VIEWER_USER,
        Role::MedicalViewer,
        "薬局 次郎",
        "ヤッキョク　ジロウ",
    ),
];

/// One account per role at each demo institution and one platform operator,
/// unless they exist.
pub async fn ensure_admins(store: &Store, institutions: &[StoredInstitution]) -> Result<()> {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
    // One Argon2id hash for the shared demo password: hashing is deliberately slow.
    let hash = zaitaku_web::admin::hash_password(ADMIN_PASSWORD).map_err(|e| anyhow::anyhow!(e))?;
    for i in institutions {
        if !store.accounts_of(i.id).await?.is_empty() {
            continue;
        }
        for (user_id, role, name, kana) in DEMO_STAFF {
            store
                .insert_account(
                    &zaitaku_storage::NewAccount {
                        institution_id: Some(i.id),
                        user_id,
                        role,
                        name,
                        name_kana: kana,
                        start_date: start,
                        password_hash: &hash,
                        must_change_password: false,
                    },
                    Utc::now(),
                )
                .await?;
        }
    }
    if store.operator_for_login(OPERATOR_USER).await?.is_none() {
        let hash =
            zaitaku_web::admin::hash_password(OPERATOR_PASSWORD).map_err(|e| anyhow::anyhow!(e))?;
        store
            .insert_account(
                &zaitaku_storage::NewAccount {
                    institution_id: None,
                    user_id: OPERATOR_USER,
                    role: Role::Operator,
                    name: "運用 三郎",
                    name_kana: "ウンヨウ　サブロウ",
                    start_date: start,
                    password_hash: &hash,
                    must_change_password: false,
                },
                Utc::now(),
            )
            .await?;
    }
    Ok(())
}

/// A person who shows one of the interesting cases.
pub struct DemoPatient {
    pub case: &'static str,
    pub eligibility: Eligibility,
}

/// A case, and the test a person must pass to show it.
struct Case {
    label: &'static str,
    /// Whether the holder's card is registered for insurance use. Only the
    /// unregistered case may do without: any other case is seen after a login,
    /// which an unregistered card ends with 保険証未登録.
    registered: bool,
    matches: fn(&Eligibility, NaiveDate) -> bool,
}

fn in_force(e: &Eligibility, on: NaiveDate) -> bool {
    e.resolve(on).validity == QualificationValidity::Valid
}

/// A case seen after logging in with a card registered for insurance use.
const fn after_login(label: &'static str, matches: fn(&Eligibility, NaiveDate) -> bool) -> Case {
    Case {
        label,
        registered: true,
        matches,
    }
}

const CASES: &[Case] = &[
    after_login("一般（3割）", |e, on| {
        in_force(e, on)
            && e.category(on).label() == "一般"
            && e.limit_on(on).is_none()
            && person::age_on(e.person.birth_date, on) < 70
    }),
    after_login("未就学（義務教育就学前）", |e, on| {
        in_force(e, on) && e.is_preschool(on)
    }),
    after_login("高齢受給者（70〜74歳）", |e, on| {
        in_force(e, on) && e.elderly_on(on).is_some()
    }),
    after_login("後期高齢者（75歳以上）", |e, on| {
        in_force(e, on) && person::is_late_elderly_age(e.person.birth_date, on)
    }),
    after_login("限度額適用認定証あり", |e, on| {
        in_force(e, on) && e.limit_on(on).is_some()
    }),
    after_login("特定疾病療養受療証あり", |e, on| {
        in_force(e, on) && e.specific_diseases_on(on).next().is_some()
    }),
    after_login("医療費助成（公費）あり", |e, on| {
        in_force(e, on) && e.subsidies_on(on).next().is_some()
    }),
    after_login("医療扶助（生活保護）", |e, on| {
        e.category(on).label() == "医療扶助"
    }),
    after_login("保険者変更あり（資格履歴）", |e, on| {
        in_force(e, on) && e.qualifications.len() > 1
    }),
    after_login("資格無効（喪失済み）", |e, on| {
        e.resolve(on).validity == QualificationValidity::Invalid
    }),
    after_login("該当資格なし", |e, on| {
        e.resolve(on).validity == QualificationValidity::NotFound
    }),
    Case {
        label: "保険証利用登録なし（E-C-04-02-A-6002）",
        registered: false,
        matches: |_, _| true,
    },
    after_login("要配慮情報（備考）あり", |e, _| {
        e.person.considerate.is_some()
    }),
];

/// The first person of each case among the demo population.
pub async fn patients(store: &Store, on: NaiveDate, scan: i64) -> Result<Vec<DemoPatient>> {
    let mut found: Vec<Option<DemoPatient>> = CASES.iter().map(|_| None).collect();
    for id in 1..=scan {
        let Some(e) = store.eligibility(id).await? else {
            break;
        };
        for (slot, case) in found.iter_mut().zip(CASES) {
            if slot.is_none()
                && e.person.insurance_use_registered == case.registered
                && (case.matches)(&e, on)
            {
                *slot = Some(DemoPatient {
                    case: case.label,
                    eligibility: e.clone(),
                });
            }
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    Ok(found.into_iter().flatten().collect())
}

pub fn print_banner(
    base_url: &str,
    institutions: &[StoredInstitution],
    patients: &[DemoPatient],
    cards: &[zaitaku_identity::WalletCard],
    db_url: &str,
    links: &[crate::demo_oqs::DemoLink],
) {
    println!();
    println!("zaitaku デモを起動しました（合成データのみ。実在の人物・機関ではありません）");
    println!("  データベース: {db_url}");
    println!("  ヘルスチェック: {base_url}/healthz");
    println!();
    println!("マイナ在宅受付Web — 医療機関等別URL:");
    for i in institutions {
        let inst = &i.institution;
        let mut notes = vec![inst.kind.label()];
        if inst.asks_prescription_form() {
            notes.push("電子処方箋対応");
        }
        if inst.offers(ConsentItem::LimitAmount) {
            notes.push("オンライン診療等");
        }
        println!("  {}（{}）", inst.name, notes.join("・"));
        println!("    {base_url}/w/{}", i.url_token);
    }
    println!();
    println!("医療機関等向け管理画面: {base_url}/admin/login");
    println!(
        "  医療機関等コード（下の各機関）とパスワード {ADMIN_PASSWORD} で、次のユーザIDが使えます:"
    );
    println!(
        "    {ADMIN_USER}（管理者）  {STAFF_USER}（一般利用者）  {VIEWER_USER}（医療情報閲覧）"
    );
    for i in institutions {
        println!("    {}  {}", i.institution.code, i.institution.name);
    }
    println!(
        "マイナ資格確認アプリ（タブレット・スマートフォン・PCのブラウザで開く）: {base_url}/app"
    );
    println!(
        "  1. 管理画面に {STAFF_USER} で一度ログインし、{ADMIN_USER} で《アクティベーションコード管理》からコードを発行"
    );
    println!(
        "  2. アプリで利用規約に同意し、機関コード・{STAFF_USER}・パスワード {ADMIN_PASSWORD}・コード12桁を入力、パスコード4桁を登録"
    );
    println!("運用者向け管理画面: {base_url}/operator/login");
    println!("  ユーザID {OPERATOR_USER}  パスワード {OPERATOR_PASSWORD}");
    println!();
    println!("デモ患者（ID・氏名・生年月日・場合）:");
    for p in patients {
        let person = &p.eligibility.person;
        println!(
            "  {:>5}  {}（{}）  {}  {}",
            person.id,
            person.name,
            person.name_kana,
            wareki(person.birth_date),
            p.case
        );
    }
    println!();
    println!("デモカード（本人確認画面で選びます。暗証番号は患者さんご自身で入力する想定です）:");
    println!(
        "  マイナ在宅受付Webでは、パソコンの「ICカードリーダー」ではマイナンバーカードだけを選べます。スマホ用電子証明書は、二次元コードを読み取ったスマートフォンで選びます。"
    );
    println!("  マイナ資格確認アプリでは、どの端末でもすべてのカードを読み取れます。");
    for c in cards {
        println!(
            "  {}  暗証番号 {}  {}",
            crate::card::describe(c),
            crate::demo_cards::pin_of(c.kind),
            c.label.as_deref().unwrap_or_default()
        );
    }
    println!();
    println!("本人確認のテスト（カードを選んで暗証番号を入力）: {base_url}/demo/identity");
    println!();
    let font = zaitaku_web::pdf_font::installed();
    crate::demo_oqs::print(base_url, links, font.as_ref().map(|f| f.family()));
    println!();
    println!("停止するには Ctrl-C を押してください。");
    println!();
}
