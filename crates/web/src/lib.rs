//! zaitaku's HTTP server: routes, middleware and pages.
//!
//! Pages are server-rendered (askama); the CSS is embedded in the binary so
//! a single file runs the whole service.

pub mod admin;
mod error;
mod flow;
mod handoff;
mod identity_check;
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
use zaitaku_authenticator::AuthenticatorState;
use zaitaku_identity::Identity;
use zaitaku_storage::Store;

pub use error::WebError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub identity: Identity,
    /// The address patients and staff use, e.g. `https://zaitaku.example.jp`;
    /// institution URLs are built from it.
    pub public_url: String,
}

impl AppState {
    pub async fn new(
        store: Store,
        public_url: String,
    ) -> Result<Self, zaitaku_identity::IdentityError> {
        let identity = Identity::new(store.clone()).await?;
        Ok(Self {
            store,
            identity,
            public_url,
        })
    }

    /// The origin cards sign: scheme, host and port of the public URL.
    pub fn origin(&self) -> String {
        origin_of(&self.public_url)
    }

    /// The web-service URL of an institution (医療機関等別URL).
    pub fn institution_url(&self, url_token: &str) -> String {
        format!("{}/w/{url_token}", self.public_url.trim_end_matches('/'))
    }
}

/// `https://host:port/any/path` → `https://host:port`.
pub fn origin_of(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    match trimmed.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => trimmed.to_owned(),
    }
}

pub fn router(state: AppState) -> Router {
    let authenticator = zaitaku_authenticator::router(AuthenticatorState {
        identity: state.identity.clone(),
        origin: state.origin(),
    });
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::health))
        .route("/static/app.css", get(pages::stylesheet))
        .route("/static/keypad.js", get(pages::keypad_script))
        .route("/static/admin.css", get(pages::admin_stylesheet))
        .route("/static/admin.js", get(pages::admin_script))
        .route("/w/{token}", get(flow::start))
        .route(
            "/w/{token}/flow/{kind}",
            axum::routing::post(flow::flow_start),
        )
        .route(
            "/w/{token}/choose",
            get(flow::choose_page).post(flow::choose_submit),
        )
        .route("/w/{token}/confirm", get(flow::confirm_page))
        .route("/w/{token}/auth", axum::routing::post(flow::auth))
        .route("/w/{token}/callback", get(flow::callback))
        .route("/w/{token}/done", get(flow::done_page))
        .route("/w/{token}/faq", get(pages::faq))
        .route("/demo/identity", get(identity_check::start_page))
        .route(
            "/demo/identity/start",
            axum::routing::post(identity_check::begin),
        )
        .route("/demo/identity/callback", get(identity_check::callback))
        .merge(admin::routes())
        .fallback(pages::not_found)
        .with_state(state)
        .merge(authenticator)
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
