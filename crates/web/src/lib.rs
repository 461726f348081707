//! zaitaku's HTTP server: routes, middleware and pages.
//!
//! Pages are server-rendered (askama); the CSS is embedded in the binary so
//! a single file runs the whole service.

mod error;
mod pages;
mod security;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use zaitaku_storage::Store;

pub use error::WebError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The address patients and staff use, e.g. `https://zaitaku.example.jp`;
    /// institution URLs are built from it.
    pub public_url: String,
}

impl AppState {
    /// The web-service URL of an institution (医療機関等別URL).
    pub fn institution_url(&self, url_token: &str) -> String {
        format!("{}/w/{url_token}", self.public_url.trim_end_matches('/'))
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::health))
        .route("/static/app.css", get(pages::stylesheet))
        .route("/w/{token}", get(pages::start))
        .route("/w/{token}/faq", get(pages::faq))
        .fallback(pages::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn(security::headers))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        // Log the route pattern, never the concrete path: institution URL
        // tokens must not end up in log files.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("(unmatched)", MatchedPath::as_str);
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
