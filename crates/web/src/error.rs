//! Errors a handler can return, rendered as a Japanese page with a stable code.

use std::any::Any;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use zaitaku_storage::StorageError;

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

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub code: &'a str,
}

pub fn error_page(status: StatusCode, title: &str, message: &str, code: &str) -> Response {
    let page = ErrorPage {
        title,
        message,
        code,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, format!("{title}\n{message}\nエラーコード: {code}")).into_response(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let code = match &self {
            Self::Storage(e) => e.code(),
            Self::Service(e) => e.code(),
            Self::Render(_) => "Z-W-0002",
            Self::Internal(_) => "Z-W-0003",
        };
        // The details stay in the log; people get a calm sentence and the code.
        tracing::error!(error = %self, code, "request failed");
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "ただいま処理できません",
            "システムで問題が発生しました。しばらくしてからもう一度お試しください。解決しない場合は、医療機関等の職員にエラーコードをお伝えください。",
            code,
        )
    }
}

pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ただいま処理できません",
        "システムで問題が発生しました。しばらくしてからもう一度お試しください。",
        "Z-W-0001",
    )
}
