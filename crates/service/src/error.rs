//! What a use case returns when it could not run at all (the database, the
//! random source); refusals a person caused are values of each use case.

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
}

impl ServiceError {
    /// The stable code shown to people beside a calm sentence.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Storage(e) => e.code(),
            Self::Identity(_) | Self::Internal(_) => "Z-W-0003",
        }
    }
}
