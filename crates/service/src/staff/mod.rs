//! Staff of an institution (管理者, 一般利用者, 医療情報閲覧) and the platform's
//! operators: login with the lockout rule, sessions, passwords.
//!
//! Two realms share the rules: institution staff sign in with 医療機関等コード,
//! ユーザID and パスワード; operators with ユーザID and パスワード. A session
//! belongs to one realm. The same rules will serve the staff app
//! (docs/design/administration.md).

mod login;
mod password;
mod session;

pub(crate) use login::check_password;
pub use login::{LoginRefusal, SignedIn, login, refuse_cross_site};
pub use password::{
    PasswordRefusal, change_password, hash_password, hash_password_off_thread, password_matches,
    temporary_password,
};
pub(crate) use password::{check_new_password, password_matches_off_thread};
pub(crate) use session::password_mark;
pub use session::{IDLE_MINUTES, Session, access_denied, end_session, resume_session};

/// Where an account signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    Institution,
    Operator,
}

impl Realm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Institution => "institution",
            Self::Operator => "operator",
        }
    }

    /// The audit log's actor for this realm's accounts.
    pub(crate) fn actor(self) -> &'static str {
        match self {
            Self::Institution => "staff",
            Self::Operator => "operator",
        }
    }
}
