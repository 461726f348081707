//! Every refusal a page of the web server shows: its stable code, headline,
//! sentence and HTTP status in one place, so that a code means one thing
//! wherever it appears (docs/error-codes.md). The surfaces render a refusal
//! in their own frame (the visit, the administration's menu); a refusal with
//! no frame is the plain error page (画面番号 E-03) of this file.

use std::borrow::Cow;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use zaitaku_identity::LoginError;
use zaitaku_service::accounts::AccountRefusal;
use zaitaku_service::consent::ConsentRefusal;

/// Why a request gets a refusal page instead of what it asked for.
#[derive(Debug)]
pub enum Refusal {
    /// A handler panicked (caught by the server).
    Panicked,
    /// The database, the service or a template failed; the code says which
    /// (`StorageError::code`, `ServiceError::code`, Z-W-0002/0003).
    Unavailable { code: &'static str },
    /// No route matches.
    PageNotFound,
    /// An unknown, rotated or switched-off institution URL: one page for all,
    /// so that a visitor learns nothing about which institutions exist.
    UrlUnavailable,
    /// The visit (or the identity check) behind the cookie is gone.
    SessionExpired,
    /// The way back carries another `state` than the one this visit sent.
    OtherState,
    /// The way back carries no code, or its code was spent meanwhile.
    NoCode,
    /// The authenticator's back channel did not give the token; the sentence
    /// is the authenticator's.
    NotClaimed(&'static str),
    /// The patient cancelled in the authenticator.
    AuthCancelled,
    /// The hand-off expired, or the patient never came back from the
    /// authenticator.
    HandoffIncomplete,
    /// Three wrong PINs locked the card.
    CardLocked,
    /// The card's certificate is revoked.
    CardRevoked,
    /// The patient went back to an authenticator page of a hand-off that has
    /// already done its work.
    HandoffUsed,
    /// The card's token logs nobody in.
    Login(LoginError),
    /// The consent use case refused (保険証未登録, 資格無効 …).
    Consent(ConsentRefusal),
    /// A change to an account was refused (an administrator's own account,
    /// a tampered form).
    Account(AccountRefusal),
    /// 画面番号 K-E-01: the role may not open this page.
    Forbidden,
    /// 画面番号 K-E-02: an ID that is not this institution's, or none at all
    /// (the same page either way, so nothing about other institutions leaks).
    NoSuchRecord,
    /// 画面番号 K-E-03: the form's CSRF token is not this session's.
    StaleForm,
    /// A login posted from another site's page.
    CrossSiteLogin,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Panicked => "Z-W-0001",
            Self::Unavailable { code } => code,
            Self::PageNotFound => "Z-W-0404",
            Self::UrlUnavailable => "Z-W-0410",
            Self::SessionExpired => "Z-W-0440",
            Self::OtherState | Self::NoCode | Self::NotClaimed(_) => "Z-W-0441",
            Self::AuthCancelled => "Z-W-0442",
            Self::HandoffIncomplete => "Z-A-0002",
            Self::CardLocked => "Z-A-0003",
            Self::CardRevoked => "Z-A-0004",
            Self::HandoffUsed => "Z-A-0005",
            Self::Login(e) => e.code(),
            Self::Consent(r) => r.code(),
            Self::Account(r) => r.code(),
            Self::Forbidden => "Z-W-0603",
            Self::StaleForm => "Z-W-0604",
            Self::NoSuchRecord => "Z-W-0605",
            Self::CrossSiteLogin => "Z-W-0606",
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            Self::Panicked | Self::Unavailable { .. } => "ただいま処理できません",
            Self::PageNotFound => "ページが見つかりません",
            Self::UrlUnavailable => "このURLではご利用いただけません",
            Self::SessionExpired => "セッションの有効期限が切れました",
            Self::OtherState | Self::NoCode | Self::NotClaimed(_) => "認証できませんでした",
            Self::AuthCancelled => "本人認証を中止しました",
            Self::HandoffIncomplete => "本人認証が完了しませんでした",
            Self::CardLocked => "暗証番号がロックされています",
            Self::CardRevoked => "このカードは利用できません",
            Self::HandoffUsed => "この認証は使用済みです",
            Self::Login(e) => e.title(),
            Self::Consent(r) => r.title(),
            Self::Account(r) => r.title(),
            Self::Forbidden => "この画面を利用する権限がありません",
            Self::NoSuchRecord => "該当する情報がありません",
            Self::StaleForm | Self::CrossSiteLogin => "操作を受け付けられませんでした",
        }
    }

    pub fn message(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            Self::Panicked => {
                "システムで問題が発生しました。しばらくしてからもう一度お試しください。"
            }
            Self::Unavailable { .. } => {
                "システムで問題が発生しました。しばらくしてからもう一度お試しください。解決しない場合は、医療機関等の職員にエラーコードをお伝えください。"
            }
            Self::PageNotFound => {
                "お探しのページは見つかりませんでした。医療機関等から案内されたURLまたは二次元コードから、もう一度アクセスしてください。"
            }
            Self::UrlUnavailable => {
                "URLが正しくないか、有効期限が切れています。お手数ですが、医療機関等の職員に最新のURLまたは二次元コードをご確認ください。"
            }
            Self::SessionExpired | Self::NoCode => "最初からやり直してください。",
            Self::OtherState => "画面の操作が正しくありません。最初からやり直してください。",
            Self::NotClaimed(why) => why,
            Self::AuthCancelled => {
                "本人認証は行われていません。同意の登録・更新・取消も行われていません。必要なときは、最初の画面からやり直してください。"
            }
            Self::HandoffIncomplete => {
                "認証の有効期限（5分）が切れたか、認証アプリから戻りませんでした。同意は登録されていません。最初からやり直してください。"
            }
            Self::CardLocked => {
                "暗証番号を3回連続して間違えたため、ロックされています。ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。"
            }
            Self::CardRevoked => {
                "このカードの電子証明書は失効しています。住民票がある市区町村の窓口にお問い合わせください。"
            }
            Self::HandoffUsed => {
                "この本人認証はすでに使われています。同意の登録・更新・取消を続けるときは、最初の画面からやり直してください。"
            }
            Self::Login(e) => return Cow::Owned(e.to_string()),
            Self::Consent(r) => r.message(),
            Self::Account(r) => return Cow::Owned(r.message()),
            Self::Forbidden => {
                "ご利用のアカウントの権限区分では、この画面は利用できません。必要な場合は医療機関等の管理者にご相談ください。"
            }
            Self::NoSuchRecord => {
                "指定された情報は見つかりませんでした。一覧から選び直してください。"
            }
            Self::StaleForm => {
                "画面の有効期限が切れたか、別の画面からの送信です。もう一度画面を開き直してから操作してください。"
            }
            Self::CrossSiteLogin => {
                "別のサイトの画面からのログインは受け付けていません。ログイン画面を開き直してから操作してください。"
            }
        })
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Panicked => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PageNotFound | Self::UrlUnavailable | Self::NoSuchRecord => StatusCode::NOT_FOUND,
            Self::SessionExpired => StatusCode::GONE,
            Self::Account(AccountRefusal::OwnAccount) => StatusCode::CONFLICT,
            Self::Account(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// The 画面番号 of the administration's refusal pages.
    pub fn screen_id(&self) -> &'static str {
        match self {
            Self::Forbidden => "K-E-01",
            Self::NoSuchRecord => "K-E-02",
            Self::StaleForm => "K-E-03",
            _ => "E-03",
        }
    }

    /// The plain page with `status` rather than this refusal's own: a frame
    /// that has its own status for every refusal (the visit's callback answers
    /// 403) falls back to it when its template fails.
    pub fn plain_page(&self, status: StatusCode) -> Response {
        let message = self.message();
        let page = ErrorPage {
            title: self.title(),
            message: &message,
            code: self.code(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (
                status,
                format!("{}\n{message}\nエラーコード: {}", self.title(), self.code()),
            )
                .into_response(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.plain_page(self.status())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    code: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code names one refusal: two variants may share it only when they
    /// share the headline too (the three ways a return is not a login).
    #[test]
    fn a_code_has_one_headline() {
        let all = [
            Refusal::Panicked,
            Refusal::PageNotFound,
            Refusal::UrlUnavailable,
            Refusal::SessionExpired,
            Refusal::OtherState,
            Refusal::NoCode,
            Refusal::NotClaimed("x"),
            Refusal::AuthCancelled,
            Refusal::HandoffIncomplete,
            Refusal::CardLocked,
            Refusal::CardRevoked,
            Refusal::HandoffUsed,
            Refusal::Forbidden,
            Refusal::NoSuchRecord,
            Refusal::StaleForm,
            Refusal::CrossSiteLogin,
        ];
        let mut seen = std::collections::BTreeMap::new();
        for r in &all {
            let title = *seen.entry(r.code()).or_insert(r.title());
            assert_eq!(title, r.title(), "{}", r.code());
        }
    }
}
