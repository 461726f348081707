//! What every surface of the web server shares: the state handlers reach,
//! the refusal pages and their codes, cookies, the staff session extractor
//! with its permission gates and page frame, the authenticator hand-off,
//! device sniffing, security headers and the embedded assets.

pub mod assets;
pub mod cookies;
pub mod device;
pub mod error;
pub mod handoff;
pub mod nav;
pub mod refusal;
pub mod security;
pub mod staff;
pub mod state;

pub use nav::jst_minute;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A rendered form page: 422 when it shows a refusal of what was entered,
/// 200 otherwise. Like every response without caching of its own, it is
/// sent `no-store` (`security::headers`).
pub fn form_page(html: String, refused: bool) -> Response {
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, Html(html)).into_response()
}
