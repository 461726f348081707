//! The demo's receipt-computer links: the first demo clinic gets one link
//! per encoding, issued afresh at each start by its administrator (a
//! credential is shown once and kept nowhere), each with its exchange
//! folder and example request files made from demo patients, so that
//! `zaitaku oqs-link` works at once.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{Duration, NaiveDate, Utc};
use zaitaku_domain::codes::MedicalTreatmentFlag;
use zaitaku_domain::eligibility::Coverage;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_proto::oqs::batch::{BatchUpload, ConsentedUpload, Window};
use zaitaku_proto::oqs::individual::{IndividualRequest, RequestHeader};
use zaitaku_proto::oqs::medical::{FileCategory, MedicalRequest};
use zaitaku_proto::oqs::qualification::SearchInfo;
use zaitaku_service::oqs_link;
use zaitaku_service::staff::{Realm, Session};
use zaitaku_storage::{Store, StoredInstitution};

use crate::demo::{ADMIN_USER, DemoPatient};

/// A link of the demo, ready to start the agent with.
pub struct DemoLink {
    pub institution: String,
    /// Whose 薬剤情報・特定健診情報 the examples ask for (as PDF).
    pub medical_patient: Option<String>,
    pub encoding: CharacterCode,
    pub folder: PathBuf,
    pub credential: String,
}

fn label(encoding: CharacterCode) -> &'static str {
    match encoding {
        CharacterCode::Utf8 => "デモ用レセコン（UTF-8）",
        CharacterCode::ShiftJis => "デモ用レセコン（Shift_JIS）",
    }
}

fn folder_name(encoding: CharacterCode) -> &'static str {
    match encoding {
        CharacterCode::Utf8 => "oqs-utf8",
        CharacterCode::ShiftJis => "oqs-sjis",
    }
}

/// Issues (or re-issues) the demo clinic's two links and writes their
/// example requests.
pub async fn links(
    store: &Store,
    clinic: &StoredInstitution,
    patients: &[DemoPatient],
    data_dir: &Path,
    today: NaiveDate,
) -> Result<Vec<DemoLink>> {
    let admin = store
        .accounts_of(clinic.id)
        .await?
        .into_iter()
        .find(|a| a.user_id == ADMIN_USER)
        .ok_or_else(|| anyhow!("デモの管理者 {ADMIN_USER} がいません"))?;
    let session = Session {
        sid: String::new(),
        csrf: String::new(),
        realm: Realm::Institution,
        account: admin,
        institution: Some(clinic.clone()),
    };
    let existing = oqs_link::list(store, &session).await?;
    let mut out = Vec::new();
    for encoding in [CharacterCode::Utf8, CharacterCode::ShiftJis] {
        let now = Utc::now();
        let kept = existing
            .iter()
            .find(|l| l.label == label(encoding) && l.revoked_at.is_none());
        let issued = match kept {
            // Before the server starts: no credential has been taken yet.
            Some(l) => {
                oqs_link::rotate(store, &oqs_link::LinkCache::default(), &session, l.id, now)
                    .await?
                    .map_err(|r| anyhow!("{}", r.message()))?
            }
            None => oqs_link::issue(store, &session, label(encoding), encoding.identifier(), now)
                .await?
                .map_err(|e| anyhow!("{e}"))?,
        };
        let folder = data_dir.join(folder_name(encoding));
        let medical_patient = write_examples(&folder, clinic, patients, encoding, today)?;
        out.push(DemoLink {
            institution: clinic.institution.name.clone(),
            medical_patient,
            encoding,
            folder,
            credential: issued.credential,
        });
    }
    Ok(out)
}

/// The search information of a demo patient with health insurance.
fn search(p: &DemoPatient) -> Option<SearchInfo> {
    let e = &p.eligibility;
    e.qualifications
        .iter()
        .rev()
        .find_map(|q| match &q.coverage {
            Coverage::Insurance {
                insurer_number,
                symbol,
                number,
                branch,
                ..
            } => Some(SearchInfo {
                insurer_number: insurer_number.clone(),
                symbol: symbol.clone(),
                number: number.clone(),
                branch: Some(*branch),
                birthdate: e.person.birth_date,
                limit_consent: true,
                arbitrary_identifier: Some(format!("demo-{}", e.person.id)),
            }),
            Coverage::MedicalAssistance { .. } => None,
        })
}

/// `examples/` beside `req/`: an individual inquiry, a batch of every demo
/// case, the 訪問診療等 consented-patient request of the last 30 days, and
/// the first insured patient's 薬剤情報・診療情報 and 特定健診情報 as PDF
/// (answered once that patient has consented to the clinic). Returns that
/// patient's name.
fn write_examples(
    folder: &Path,
    clinic: &StoredInstitution,
    patients: &[DemoPatient],
    encoding: CharacterCode,
    today: NaiveDate,
) -> Result<Option<String>> {
    let examples = folder.join("examples");
    for dir in ["req", "res", "face", "examples"] {
        std::fs::create_dir_all(folder.join(dir))
            .with_context(|| format!("フォルダ {} を作成できません", folder.join(dir).display()))?;
    }
    let stamp = today.format("%Y%m%d");
    let header = |id: &str| RequestHeader {
        medical_institution_code: clinic.institution.code.clone(),
        qualification_confirmation_date: Some(today),
        arbitrary_file_identifier: Some(id.to_owned()),
    };
    let searches: Vec<SearchInfo> = patients.iter().filter_map(search).collect();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let medical_patient = patients
        .iter()
        .find(|p| search(p).is_some())
        .map(|p| p.eligibility.person.name.clone());
    if let Some(first) = searches.first() {
        files.push((
            format!("OQSsiquc01req_{stamp}0001.xml"),
            IndividualRequest {
                header: header("demo-individual"),
                search: first.clone(),
            }
            .write(encoding),
        ));
        let medical = |file_category, id: &str| MedicalRequest {
            medical_institution_code: clinic.institution.code.clone(),
            insurer_number: first.insurer_number.clone(),
            symbol: first.symbol.clone(),
            number: first.number.clone(),
            branch: first.branch,
            arbitrary_file_identifier: Some(id.to_owned()),
            start: None,
            end: None,
            file_category,
            treatment: Some(MedicalTreatmentFlag::HomeVisit),
        };
        // The names follow the 連携アプリ's: FileCategory, then the date.
        let short = today.format("%y%m%d");
        files.push((
            format!("YZKsiquc01req_03{short}0004.xml"),
            medical(FileCategory::PdfWithClinical, "demo-drugs").write(encoding),
        ));
        files.push((
            format!("TKKsiquc01req_01{short}0005.xml"),
            medical(FileCategory::Pdf, "demo-checkups").write(encoding),
        ));
    }
    files.push((
        format!("OQSmuquc01req_{stamp}0002.xml"),
        BatchUpload {
            header: header("demo-batch"),
            persons: searches,
        }
        .write(encoding),
    ));
    files.push((
        format!("OQSmuhvq01req_{stamp}0003.xml"),
        ConsentedUpload {
            medical_institution_code: clinic.institution.code.clone(),
            arbitrary_file_identifier: Some("demo-home-visits".into()),
            window: Window::Consent {
                from: today - Duration::days(30),
                to: today,
            },
            treatment: MedicalTreatmentFlag::HomeVisit,
        }
        .write(encoding),
    ));
    for (name, bytes) in files {
        std::fs::write(examples.join(&name), bytes)
            .with_context(|| format!("{} を書けません", examples.join(&name).display()))?;
    }
    Ok(medical_patient)
}

/// The banner's lines: how to start the agent, and what to type.
pub fn print(base_url: &str, links: &[DemoLink], pdf_font: Option<&str>) {
    let Some(first) = links.first() else {
        return;
    };
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "zaitaku".into());
    println!(
        "レセコン連携（OQS XML ファイル。連携アプリの代わりに zaitaku oqs-link を別の端末で起動）: {}",
        first.institution
    );
    for l in links {
        let name = match l.encoding {
            CharacterCode::Utf8 => "UTF-8",
            CharacterCode::ShiftJis => "Shift_JIS",
        };
        println!("  {name}:");
        println!(
            "    {exe} oqs-link --server {base_url} --folder {} --credential {}",
            l.folder.display(),
            l.credential
        );
    }
    println!(
        "  要求ファイルの例は各フォルダの examples/ にあります。req/ にコピーすると res/ に結果が書かれます:"
    );
    println!(
        "    cp {}/examples/OQSsiquc01req_*.xml {}/req/",
        first.folder.display(),
        first.folder.display()
    );
    println!(
        "  一括照会（OQSmuquc01req_）の結果の受付番号で OQSmuquc02req_ を作ると結果を取得できます。アプリでの資格確認は face/ に届きます。"
    );
    if let Some(name) = &first.medical_patient {
        println!(
            "  薬剤情報・特定健診情報の PDF（YZKsiquc01req_・TKKsiquc01req_）は、{name} さんがマイナ在宅受付Webで{}に同意した後に返ります（同意前は ResultCode 2 の XML）。",
            first.institution
        );
        match pdf_font {
            Some(family) => println!("    PDF のフォント: {family}"),
            None => println!(
                "    日本語フォントが見つからないため PDF は作れません（Z-Q-0009）。例: sudo apt-get install fonts-noto-cjk"
            ),
        }
    }
    println!(
        "  認証情報は起動のたびに再発行されます（管理画面《レセコン連携》でも発行できます）。"
    );
}
