//! zaitaku's HTTP server: routes, middleware and pages.
//!
//! Pages are server-rendered (askama); the CSS is embedded in the binary so
//! a single file runs the whole service.

pub mod admin;
mod demo;
mod device;
mod error;
mod handoff;
mod pages;
pub mod partner_key;
mod patient;
pub(crate) mod security;

use std::net::SocketAddr;
use std::sync::Arc;
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
use zaitaku_proto::partner::{self, ReturnSigner};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub identity: Identity,
    /// The address patients and staff use, e.g. `https://zaitaku.example.jp`;
    /// institution URLs are built from it.
    pub public_url: String,
    /// Signs the return to an online-care partner (see
    /// [`zaitaku_proto::partner`]).
    pub signer: Arc<ReturnSigner>,
    /// Routes the stand-in authenticator (its wallet of virtual cards) and
    /// `/demo/identity`: for the demo and tests, never by accident in
    /// production (`zaitaku serve --stand-in-authenticator`).
    pub stand_in_authenticator: bool,
}

/// Why the server's state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Identity(#[from] zaitaku_identity::IdentityError),
    #[error(transparent)]
    SigningKey(#[from] partner_key::SigningKeyError),
}

impl AppState {
    /// With a fresh return-signing key: fine for one node that never
    /// restarts during a visit (tests, the demo without a data folder);
    /// otherwise give every node the same key with [`AppState::with_signer`].
    /// The stand-in authenticator is routed; a production server turns it off
    /// with [`AppState::with_stand_in_authenticator`].
    pub async fn new(store: Store, public_url: String) -> Result<Self, StateError> {
        let identity = Identity::new(store.clone()).await?;
        Ok(Self {
            store,
            identity,
            public_url,
            signer: Arc::new(partner_key::generate()?),
            stand_in_authenticator: true,
        })
    }

    pub fn with_stand_in_authenticator(mut self, on: bool) -> Self {
        self.stand_in_authenticator = on;
        self
    }

    pub fn with_signer(mut self, signer: ReturnSigner) -> Self {
        self.signer = Arc::new(signer);
        self
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

/// Today in Japan: the day the web service judges eligibility, certificate
/// warnings and consultation days by. Tests choose their people by it too:
/// from 15:00 UTC the UTC date is still yesterday here.
pub fn today() -> chrono::NaiveDate {
    zaitaku_service::jst_day(chrono::Utc::now())
}

pub fn router(state: AppState) -> Router {
    let stand_in = state.stand_in_authenticator.then(|| {
        let authenticator = zaitaku_authenticator::router(AuthenticatorState {
            identity: state.identity.clone(),
            origin: state.origin(),
        });
        Router::new()
            .route("/demo/identity", get(demo::identity_check::start_page))
            .route(
                "/demo/identity/start",
                axum::routing::post(demo::identity_check::begin),
            )
            .route(
                "/demo/identity/callback",
                get(demo::identity_check::callback),
            )
            .with_state(state.clone())
            .merge(authenticator)
    });
    let app = Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(pages::health))
        .route("/static/app.css", get(pages::stylesheet))
        .route("/static/admin.css", get(pages::admin_stylesheet))
        .route("/static/admin.js", get(pages::admin_script))
        .route("/static/fresh.js", get(pages::fresh_script))
        .route("/static/choose.js", get(pages::choose_script))
        .route("/static/reader.js", get(pages::reader_script))
        .route("/static/menu.js", get(pages::menu_script))
        .route("/w/{token}", get(patient::start))
        .route(
            "/w/{token}/flow/{kind}",
            axum::routing::post(patient::flow_start),
        )
        .route(
            "/w/{token}/choose",
            get(patient::choose_page).post(patient::choose_submit),
        )
        .route("/w/{token}/confirm", get(patient::confirm_page))
        .route("/w/{token}/auth", axum::routing::post(patient::auth))
        .route("/w/{token}/callback", get(patient::callback))
        .route("/w/{token}/done", get(patient::done_page))
        .route("/w/{token}/leave", get(patient::leave))
        .route("/w/{token}/faq", get(pages::faq))
        .route(partner::KEYS_PATH, get(pages::return_keys))
        .route(partner::KEY_PEM_PATH, get(pages::return_key_pem))
        .merge(admin::routes())
        .fallback(pages::not_found)
        .with_state(state);
    let app = match stand_in {
        Some(stand_in) => app.merge(stand_in),
        None => app,
    };
    app.layer(axum::middleware::from_fn(security::headers))
        // Pages, CSS and scripts travel gzip- or brotli-compressed to a
        // browser that asks for it (a phone on a weak signal in a patient's
        // home); the PNG QR codes are already compressed and are left alone.
        .layer(tower_http::compression::CompressionLayer::new())
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
