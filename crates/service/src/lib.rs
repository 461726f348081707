//! zaitaku's use cases. Each module is one thing a person does with the
//! system, written the same way: read, decide with the rules of
//! `zaitaku-domain`, commit ONE job of the storage writer, audit every
//! outcome (success and refusal), with the current time passed in. Every
//! surface — the web service, the administration, and next the staff app, the
//! receipt-computer interface and the kiosk — is a thin layer over these.
//!
//! - [`visit`]: the state of a patient's visit to the web service.
//! - [`consent`]: 同意登録・更新・取消 once the card is authenticated, and
//!   the completion screen's reads.
//! - [`identity_check`]: 本人確認のテスト, a card tried without consent.
//! - [`inquiry`]: 資格確認 and medical information of a consented patient,
//!   as staff ask for them; the staff app's card checks, kept results and
//!   their search.
//! - [`oqs_link`]: レセコン連携: the link credentials of receipt computers
//!   (issue, rotate, revoke) and the authentication of the interface's
//!   requests.
//! - [`notices`]: お知らせ for the staff app, posted by the operator.
//! - [`upkeep`]: the periodic purge of what has outlived its use.
//! - [`partner`]: the online-care partner's way back.
//! - [`staff`]: staff and operator login with the lockout rule, sessions,
//!   passwords.
//! - [`accounts`]: アカウント管理: register, disable, enable, unlock, reset a password.
//! - [`institution`]: 医療機関等: registration, 環境設定情報 with the terms, URL rotation.
//! - [`device`]: 医療機関等の端末: register, revoke, note a visit's use of one;
//!   the staff app's activation codes, activation, passcode and settings.
//! - [`patients`]: 同意取得済み患者: the audited list, 照会番号, the photo-ID check.
//! - [`audit_log`]: 監査ログ: the audited reads, the CSV export, the chain check.
//!
//! Refusals a person caused are values (enums with a stable `code()` and a
//! Japanese message); [`ServiceError`] is for a system that could not
//! answer, and for a receipt computer's refused link credential.

pub mod accounts;
mod actor;
pub mod audit_log;
pub mod consent;
pub mod device;
mod error;
pub mod identity_check;
pub mod inquiry;
pub mod institution;
pub mod jobs;
pub mod notices;
pub mod oqs_link;
pub mod partner;
pub mod patients;
pub mod staff;
pub mod upkeep;
pub mod visit;

use chrono::{DateTime, NaiveDate, Utc};

pub use actor::Actor;
pub use error::ServiceError;

/// `N` random bytes as URL-safe base64 without padding.
pub(crate) fn random_text<const N: usize>() -> Result<String, ServiceError> {
    let mut b = [0u8; N];
    zaitaku_identity::random_bytes(&mut b)?;
    Ok(zaitaku_proto::base64url::encode(&b))
}

/// A secret for a session id, a CSRF token or a one-time link: 32 random
/// bytes, URL-safe base64.
pub fn random_token() -> Result<String, ServiceError> {
    random_text::<32>()
}

/// The day in Japan at `now`: the day eligibility, certificate warnings and
/// consultation days are judged by.
pub fn jst_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zaitaku_domain::consent::jst())
        .date_naive()
}
