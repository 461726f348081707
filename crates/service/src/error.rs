//! What a use case returns when it could not run at all (the database, the
//! random source); refusals a person caused are values of each use case.
//! The one refusal carried here is a receipt computer's refused link
//! credential ([`crate::oqs_link::authenticate`]): it is no person's to
//! correct, and the interface answers it the same way (401) wherever it
//! happens.

use zaitaku_identity::IdentityError;
use zaitaku_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("{0}")]
    Internal(String),
    /// レセコン連携の認証情報 refused (Z-Q-0101); audited already.
    #[error("{0}")]
    LinkRefused(crate::oqs_link::LinkRefusal),
}

impl ServiceError {
    /// The stable code shown to people beside a calm sentence.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Storage(e) => e.code(),
            Self::Identity(_) | Self::Internal(_) => "Z-W-0003",
            Self::LinkRefused(why) => why.code(),
        }
    }
}
