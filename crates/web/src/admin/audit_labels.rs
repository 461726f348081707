//! The audit log in words staff read: a Japanese name for every action and
//! outcome the system records, who acted, and a short summary of a record's
//! detail instead of its JSON. A test walks the sources so that a new action
//! cannot be recorded without a name here.

use serde_json::Value;
use zaitaku_domain::account::Role;
use zaitaku_domain::consent::{Channel, ConsentAction};
use zaitaku_domain::photo_id::PhotoIdReason;

/// Every action written to the log, with its name, grouped as the viewer's
/// filter offers them.
pub const ACTIONS: &[(&str, &str)] = &[
    ("account.login", "ログイン"),
    ("account.logout", "ログアウト"),
    ("account.create", "アカウント登録"),
    ("account.disable", "アカウント無効化"),
    ("account.enable", "アカウント有効化"),
    ("account.unlock", "ロック解除"),
    ("account.password_change", "パスワード変更"),
    ("account.password_reset", "パスワード再設定"),
    ("access.denied", "権限のない操作・該当なし"),
    ("patients.list", "同意取得済み患者一覧の表示"),
    ("patient.view", "患者情報の表示"),
    ("patient.reference_number", "照会番号の登録"),
    (
        "patient.photo_id_checked",
        "顔写真付き身分証による本人確認の記録",
    ),
    ("eligibility.requery", "資格情報の再照会"),
    ("medical.read", "薬剤情報等の閲覧"),
    ("consent.write", "同意の登録・更新・取消"),
    ("consent.read", "同意内容の照会"),
    ("read.eligibility", "資格情報の表示（同意登録完了画面）"),
    ("read.person", "本人情報の表示（本人確認のテスト）"),
    ("flow.start", "マイナ在宅受付Webの利用開始"),
    ("partner.return", "連携サービスへの戻り"),
    ("partner.return_url", "連携サービスの戻り先の確認"),
    ("institution.settings", "環境設定情報更新"),
    ("institution.url_rotate", "医療機関等別URLの変更"),
    ("institution.create", "医療機関等の登録"),
    ("device.register", "医療機関等の端末の登録"),
    ("device.revoke", "医療機関等の端末の登録解除"),
    ("oqs_link.issue", "レセコン連携の認証情報の発行"),
    ("oqs_link.rotate", "レセコン連携の認証情報の再発行"),
    ("oqs_link.revoke", "レセコン連携の無効化"),
    ("oqs_link.authenticate", "レセコン連携の認証"),
    ("oqs.inquiry", "レセコンからの資格確認"),
    ("oqs.exchange", "レセコンの要求ファイル"),
    ("oqs.face", "資格確認結果ファイル（face）の提供"),
    ("oqs.upload", "レセコンからの一括要求の受付"),
    ("oqs.download", "レセコンへの一括結果の提供"),
    ("oqs.consented", "同意済資格情報の提供"),
    ("oqs.reference_number", "レセコンからの照会番号登録"),
    ("oqs.medical", "レセコンへの薬剤情報・特定健診情報の提供"),
    ("login.verify", "マイナンバーカードによる本人認証"),
    ("token.check", "本人認証結果の検証"),
    ("card.issue", "カードの発行"),
    ("card.unlock", "カードの暗証番号入力"),
    ("card.pin_reset", "暗証番号の初期化"),
    ("card.revoke", "電子証明書の失効"),
    ("app.code_issue", "アクティベーションコードの発行"),
    ("app.activate", "マイナ資格確認アプリの初期登録"),
    ("app.login", "マイナ資格確認アプリのログイン"),
    ("app.passcode", "ログインパスコードの登録"),
    ("app.passcode_change", "ログインパスコードの変更"),
    (
        "app.password_change",
        "アプリでのパスワード確認（パスワード変更）",
    ),
    ("app.security", "セキュリティ設定の表示"),
    ("app.visual_check", "目視確認で本人認証の切替"),
    ("app.logout", "マイナ資格確認アプリのログアウト"),
    ("app.passkey_enrol", "生体認証の登録"),
    ("app.check", "マイナ資格確認アプリによる資格確認"),
    ("app.search", "資格確認結果検索"),
    ("app.result_read", "資格確認結果の表示（検索）"),
    ("card.read_certificate", "電子証明書の読み取り（目視確認）"),
    ("notice.post", "お知らせの掲載"),
    (
        "insurance.register",
        "健康保険証利用登録（マイナ資格確認アプリ）",
    ),
    ("audit.view", "監査ログの表示"),
    ("audit.export", "監査ログのCSV出力"),
    ("audit.verify", "監査ログの改ざん検証"),
];

/// The categories of the filter: an action prefix and its name.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("account.", "ログイン・アカウント"),
    ("access.", "権限のない操作・該当なし"),
    ("patient", "患者一覧・患者情報"),
    ("eligibility.", "資格情報の再照会"),
    ("medical.", "薬剤情報等の閲覧"),
    ("consent.", "同意の登録・照会"),
    ("institution.", "環境設定・URL"),
    ("device.", "医療機関等の端末"),
    ("oqs_link.", "レセコン連携"),
    ("oqs.", "レセコン連携（ファイル）"),
    ("login.", "マイナンバーカードによる本人認証"),
    ("partner.", "オンライン診療サービスとの連携"),
    ("app.", "マイナ資格確認アプリ"),
    ("card.", "マイナンバーカード"),
    ("notice.", "お知らせ"),
    ("insurance.", "健康保険証利用登録"),
    ("audit.", "監査ログ"),
];

pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, label)| label)
}

/// Every outcome written to the log, with its name. Error codes (`Z-…`,
/// `E-…`) read as a refusal with that code.
pub const OUTCOMES: &[(&str, &str)] = &[
    ("ok", "成功"),
    ("refused", "拒否"),
    ("role", "拒否（権限なし）"),
    ("not_found", "拒否（該当なし）"),
    ("bad_request", "入力誤り"),
    ("cross_site", "拒否（別サイトからの送信）"),
    ("unknown_user", "失敗（未登録のユーザID）"),
    ("wrong_password", "失敗（パスワード誤り）"),
    ("disabled", "失敗（無効なアカウント）"),
    ("not_started", "失敗（利用開始日前）"),
    ("locked_now", "失敗（この失敗でロック）"),
    ("locked", "失敗（ロック中）"),
    ("intact", "改ざんなし"),
    ("broken", "改ざんの疑いあり"),
    ("completed", "完了"),
    ("not_completed", "未完了"),
    ("already_revoked", "解除・失効済み"),
    ("wrong_pin", "失敗（暗証番号誤り）"),
    ("signed", "署名済み"),
    ("revoked", "拒否（失効した電子証明書）"),
    ("input", "入力誤り"),
    ("login", "失敗（機関コード・ID・パスワード誤り）"),
    (
        "never_logged_in",
        "拒否（管理画面に未ログインのアカウント）",
    ),
    ("unknown_code", "拒否（アクティベーションコード誤り）"),
    (
        "not_yet_usable",
        "拒否（アクティベーションコードの利用開始前）",
    ),
    ("expired", "拒否（期限切れ）"),
    ("used", "拒否（使用済み）"),
    ("wrong_passcode", "失敗（パスコード誤り）"),
    ("passcode_spent", "失敗（パスコード5回誤り）"),
    ("passcode_format", "入力誤り（パスコード）"),
    ("passcodes_differ", "入力誤り（パスコード不一致）"),
    ("not_offered", "拒否（設定で使えない認証方法）"),
    ("no_check", "拒否（資格確認の手続きなし）"),
    ("other_state", "拒否（別の手続きの応答）"),
    ("code_spent", "拒否（使用済みの読み取り結果）"),
    ("wrong_card_kind", "拒否（認証方法と異なるカード）"),
    ("not_registered", "拒否（保険証利用登録なし）"),
    ("card_refused", "拒否（カードを確認できない）"),
    ("unknown_person", "拒否（資格情報なし）"),
    ("consent_refused", "拒否（同意を登録できない）"),
    ("failed", "失敗"),
    ("processing", "処理中"),
    ("no_ceremony", "拒否（生体認証の手続きなし）"),
    ("not_verified", "失敗（生体認証を確認できない）"),
    ("taken", "拒否（別の端末の生体認証）"),
    ("not_enrolled", "拒否（生体認証の登録なし）"),
    ("no_credential", "拒否（認証情報なし）"),
    ("malformed", "拒否（認証情報の形式誤り）"),
    ("unknown_link", "拒否（未登録の認証情報）"),
    ("wrong_secret", "拒否（認証情報の誤り・再発行前のもの）"),
    ("link_revoked", "拒否（無効化された連携）"),
];

pub fn outcome_label(outcome: &str) -> String {
    if let Some((_, label)) = OUTCOMES.iter().find(|(o, _)| *o == outcome) {
        return (*label).to_owned();
    }
    if outcome.starts_with("Z-") || outcome.starts_with("E-") {
        return format!("拒否（{outcome}）");
    }
    outcome.to_owned()
}

/// Who acted, for records not made by a signed-in account.
pub fn actor_label(actor: &str) -> &str {
    match actor {
        "patient" => "患者",
        "staff" => "職員",
        "operator" => "運用者",
        "municipality" => "自治体",
        "api" => "システム",
        "receipt_computer" => "レセコン",
        other => other,
    }
}

fn permission_label(p: &str) -> &str {
    match p {
        "view_url" => "医療機関等別URLの表示",
        "rotate_url" => "医療機関等別URLの変更",
        "manage_settings" => "環境設定情報更新",
        "manage_accounts" => "アカウント管理",
        "view_patients" => "患者情報の表示",
        "record_patient_notes" => "照会番号・本人確認の記録",
        "view_medical" => "薬剤情報等の閲覧",
        "manage_devices" => "医療機関等の端末登録・レセコン連携",
        "view_institution_audit" => "監査ログ",
        "change_own_password" => "パスワード変更",
        "manage_institutions" => "医療機関等の管理",
        "view_platform_audit" => "監査ログ（全体）",
        "post_notices" => "お知らせの掲載",
        other => other,
    }
}

fn medical_kind_label(k: &str) -> &str {
    match k {
        "drugs" => "薬剤情報",
        "clinical" => "診療情報",
        "checkups" => "特定健診等情報",
        other => other,
    }
}

fn flow_label(f: &str) -> &str {
    match f {
        "register" => "同意登録",
        "update" => "同意照会・更新",
        "cancel" => "すべての同意を取消す",
        other => other,
    }
}

fn yes_no(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "はい"
    } else {
        "いいえ"
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "はい" } else { "いいえ" }.to_owned(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// A record's detail in a few Japanese words: the fields staff care about,
/// never the internal numbers or the acting account (shown beside it).
pub fn detail_summary(action: &str, detail: &str) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(detail) else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    let mut push = |label: &str, value: String| parts.push(format!("{label}：{value}"));
    let get = |k: &str| map.get(k).filter(|v| !v.is_null());
    if let Some(v) = get("target_user_id") {
        push("対象のユーザID", text(v));
    }
    if let Some(role) = get("target_role").and_then(Value::as_str) {
        push(
            "権限区分",
            Role::parse(role).map_or(role.to_owned(), |r| r.label().to_owned()),
        );
    }
    if let Some(p) = get("permission").and_then(Value::as_str) {
        push("必要な権限", permission_label(p).to_owned());
    }
    if let Some(k) = get("kind").and_then(Value::as_str)
        && action == "medical.read"
    {
        push("情報", medical_kind_label(k).to_owned());
    }
    if let (Some(from), Some(to)) = (get("from"), get("to")) {
        push("期間", format!("{}〜{}", text(from), text(to)));
    }
    if let Some(n) = get("records").or_else(|| get("count")) {
        push("件数", text(n));
    }
    if let Some(f) = get("flow").and_then(Value::as_str) {
        push("手続き", flow_label(f).to_owned());
    }
    if let Some(a) = get("action").and_then(Value::as_str) {
        push(
            "操作",
            ConsentAction::parse(a).map_or(a.to_owned(), |a| a.label().to_owned()),
        );
    }
    if let Some(c) = get("channel").and_then(Value::as_str) {
        push(
            "経路",
            Channel::parse(c).map_or(c.to_owned(), |c| c.label().to_owned()),
        );
    }
    if let Some(r) = get("photo_id").and_then(Value::as_str) {
        push(
            "本人確認が必要な理由",
            PhotoIdReason::parse(r).map_or(r.to_owned(), |r| r.label().to_owned()),
        );
    }
    if let Some(l) = get("link_label") {
        push("名称", text(l));
    }
    if let Some(c) = get("character_code").and_then(Value::as_str) {
        let label = match c {
            "0" => "UTF-8",
            "1" => "Shift_JIS",
            other => other,
        };
        push("文字コード", label.to_owned());
    }
    if let Some(m) = get("memo") {
        push("端末識別メモ", text(m));
    }
    if let Some(v) = get("function") {
        push(
            "機能",
            if v.as_bool() == Some(true) {
                "利用する"
            } else {
                "利用しない"
            }
            .to_owned(),
        );
    }
    if let Some(v) = get("cleared") {
        push("削除", yes_no(v).to_owned());
    }
    if let Some(code) = get("code") {
        let label = if action == "institution.create" {
            "医療機関等コード"
        } else {
            "エラーコード"
        };
        push(label, text(code));
    }
    if let Some(code) = get("institution_code").filter(|v| v.as_str() != Some("")) {
        push("医療機関等コード", text(code));
    }
    if let Some(r) = get("refusal") {
        push("エラーコード", text(r));
    }
    if let Some(d) = get("eligibility_on") {
        push("資格確認日", text(d));
    }
    if let Some(n) = get("first_broken") {
        push("途切れた番号", text(n));
    }
    parts.join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The action names written by `.event("…"`, `audit_event("…"`,
    /// `action: "…"` and the lines right after such a call, in every
    /// crate's sources.
    fn written_actions() -> std::collections::BTreeSet<String> {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = std::collections::BTreeSet::new();
        let mut dirs = vec![crates];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if path.is_dir() {
                    if !matches!(name, "target" | "tests" | "fuzz" | "benches" | "examples") {
                        dirs.push(path);
                    }
                } else if name.ends_with(".rs") {
                    let src = std::fs::read_to_string(&path).unwrap();
                    collect(&src, &mut found);
                }
            }
        }
        found
    }

    fn collect(src: &str, found: &mut std::collections::BTreeSet<String>) {
        let lines: Vec<&str> = src.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let opens = line.contains("action: \"")
                || line.contains(".event(")
                || line.contains("audit_event(");
            if !opens {
                continue;
            }
            // The call's own line and the next few (rustfmt breaks long calls).
            for l in &lines[i..(i + 6).min(lines.len())] {
                for quoted in l.split('"').skip(1).step_by(2) {
                    let is_action = quoted.split_once('.').is_some_and(|(a, b)| {
                        !a.is_empty()
                            && !b.is_empty()
                            && quoted
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                    });
                    if is_action {
                        found.insert(quoted.to_owned());
                    }
                }
            }
        }
    }

    #[test]
    fn every_action_the_code_writes_has_a_name() {
        let written = written_actions();
        assert!(
            written.len() >= 30,
            "the scan found too few actions: {written:?}"
        );
        let missing: Vec<_> = written
            .iter()
            .filter(|a| !ACTIONS.iter().any(|(known, _)| known == *a))
            .collect();
        assert!(missing.is_empty(), "actions without a name: {missing:?}");
        for (a, label) in ACTIONS {
            assert_ne!(action_label(a), *a);
            assert!(!label.is_empty());
        }
    }

    #[test]
    fn every_outcome_the_code_writes_has_a_name() {
        // The outcomes the code writes (grep `outcome` and `.event(` in
        // crates/*/src); a new one must be added here and to OUTCOMES.
        for o in [
            "ok",
            "refused",
            "role",
            "not_found",
            "bad_request",
            "cross_site",
            "unknown_user",
            "wrong_password",
            "disabled",
            "not_started",
            "locked_now",
            "locked",
            "intact",
            "broken",
            "completed",
            "not_completed",
            "already_revoked",
            "wrong_pin",
            "signed",
            "revoked",
            "no_credential",
            "malformed",
            "unknown_link",
            "wrong_secret",
            "link_revoked",
        ] {
            assert_ne!(outcome_label(o), o, "{o}");
        }
        assert_eq!(outcome_label("Z-W-0450"), "拒否（Z-W-0450）");
        assert_eq!(
            outcome_label("E-C-04-02-A-6002"),
            "拒否（E-C-04-02-A-6002）"
        );
    }

    #[test]
    fn details_read_as_words() {
        let d = r#"{"account":3,"from":"2026-09","kind":"drugs","records":4,"refusal":null,"role":"admin","to":"2026-11","user_id":"admin01"}"#;
        assert_eq!(
            detail_summary("medical.read", d),
            "情報：薬剤情報、期間：2026-09〜2026-11、件数：4"
        );
        assert_eq!(
            detail_summary("access.denied", r#"{"permission":"manage_settings"}"#),
            "必要な権限：環境設定情報更新"
        );
        assert_eq!(detail_summary("x.y", "not json"), "");
    }
}
