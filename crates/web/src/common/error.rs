//! What a handler returns when the machinery fails (not a refusal of the
//! request): rendered as [`Refusal::Unavailable`] with the failing layer's
//! stable code, the details kept in the log.

use std::any::Any;

use axum::response::{IntoResponse, Response};
use zaitaku_storage::StorageError;

use super::refusal::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("画面を表示できませんでした。")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Service(#[from] zaitaku_service::ServiceError),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let code = match &self {
            Self::Storage(e) => e.code(),
            Self::Service(e) => e.code(),
            Self::Render(_) => "Z-W-0002",
            Self::Internal(_) => "Z-W-0003",
        };
        tracing::error!(error = %self, code, "request failed");
        Refusal::Unavailable { code }.into_response()
    }
}

pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Refusal::Panicked.into_response()
}
