//! zaitaku's HTTP server: routes, middleware and server-rendered pages
//! (askama), by surface. Handlers parse the request, call a use case of
//! `zaitaku-service` and render; they hold no rules and write nothing
//! (`clippy.toml` forbids storage writes here).
//!
//! - `common`: what every surface shares — the state, the `Refusal` enum of
//!   every refusal page, cookies, the `Staff<gate::…>` extractor and the
//!   administration's page frame, the authenticator hand-off, security
//!   headers, the embedded CSS and scripts.
//! - `patient`: マイナ在宅受付Web, flows A/B/C under `/w/{token}`.
//! - `admin`: an institution's administration under `/admin` (and the staff
//!   login of both realms); `operator`: the platform operator's pages.
//! - `staff`: マイナ資格確認アプリ, the staff app under `/app`.
//! - `demo`: 本人確認のテスト, served with the stand-in authenticator only.

pub mod admin;
mod common;
mod demo;
mod operator;
pub mod oqs;
mod pages;
pub mod partner_key;
mod patient;
pub mod pdf_font;
mod staff;

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
use zaitaku_proto::partner;

pub use common::error::WebError;
pub use common::state::{AppState, StateError, origin_of, today};
use common::{assets, error, security};

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
        .route("/static/app.css", get(assets::stylesheet))
        .route("/static/admin.css", get(assets::admin_stylesheet))
        .route("/static/admin.js", get(assets::admin_script))
        .route("/static/fresh.js", get(assets::fresh_script))
        .route("/static/choose.js", get(assets::choose_script))
        .route("/static/reader.js", get(assets::reader_script))
        .route("/static/menu.js", get(assets::menu_script))
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
        .merge(operator::routes())
        .merge(staff::routes())
        .merge(oqs::routes())
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
    tokio::spawn(oqs::work_jobs(state.store.clone()));
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
