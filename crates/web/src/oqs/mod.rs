//! The receipt-computer interface over HTTP (docs/reference/oqs.md,
//! "Transport"): `POST /oqs/v1/files/{name}` takes a request file and gives
//! back the result file or the `.err`; `GET /oqs/v1/face` gives the
//! check-in results one by one. Every request names its link credential in
//! `Authorization: Bearer`. The `oqs-link` folder agent is only a client of
//! these two routes, so a file gives the same bytes either way.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_proto::oqs::reader::MAX_FILE_BYTES;
use zaitaku_proto::oqs::{Rejection, RejectionKind, RequestName, file_name};
use zaitaku_service::ServiceError;
use zaitaku_service::inquiry::oqs::{self, Exchange, Link};
use zaitaku_service::oqs_link;

use crate::AppState;

/// The result's (or the `.err`'s) file name.
pub const FILE_NAME: &str = "x-oqs-file-name";
/// The `.err`'s code.
pub const ERROR_CODE: &str = "x-oqs-error-code";
/// A face file's place in the sequence, for the next `after`.
pub const CURSOR: &str = "x-oqs-cursor";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oqs/v1/files/{name}", post(file))
        .route("/oqs/v1/face", get(face))
        // The size is checked while the body is read (`body_of`).
        .layer(DefaultBodyLimit::disable())
}

/// The link the credential names, or the 401 to answer.
async fn link(state: &AppState, headers: &HeaderMap) -> Result<Link, Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match oqs_link::authenticate(&state.store, &state.oqs_links, presented, Utc::now()).await {
        Ok(p) => match zaitaku_domain::institution::InstitutionCode::parse(&p.institution_code) {
            Ok(code) => Ok(Link {
                id: p.link_id,
                institution_id: p.institution_id,
                institution_code: code,
                character_code: p.character_code,
            }),
            Err(e) => Err(failure(&ServiceError::Internal(e.to_string()))),
        },
        Err(ServiceError::LinkRefused(why)) => Err((
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
                (
                    header::HeaderName::from_static(ERROR_CODE),
                    HeaderValue::from_static(why.code()),
                ),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
            ],
            format!("{}\n{}\n", why.code(), why.message()),
        )
            .into_response()),
        Err(e) => Err(failure(&e)),
    }
}

/// The server could not answer now; the agent tries again.
fn failure(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "receipt-computer exchange failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        format!("{}\n", e.code()),
    )
        .into_response()
}

fn named(status: StatusCode, name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(name) {
        h.insert(header::HeaderName::from_static(FILE_NAME), v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn answer(state: &AppState, exchange: Exchange, status_of_rejection: StatusCode) -> Response {
    match exchange {
        Exchange::Parts {
            name,
            opening,
            job_id,
            parts,
        } => {
            // One part read at a time: a 100,000-person result is never
            // whole in the server's memory.
            let store = state.store.clone();
            let rest = futures_util::stream::unfold(0i64, move |part| {
                let store = store.clone();
                async move {
                    if part >= parts {
                        return None;
                    }
                    let read = zaitaku_service::jobs::result_part(&store, job_id, part)
                        .await
                        .map(Bytes::from)
                        .map_err(|e| std::io::Error::other(e.to_string()));
                    Some((read, part + 1))
                }
            });
            let first = futures_util::stream::once(async move { Ok(Bytes::from(opening)) });
            let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(first, rest));
            let mut r = body.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::HeaderName::from_static(FILE_NAME), v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Exchange::Result { name, bytes } => {
            let content_type = if name.ends_with(".pdf") {
                "application/pdf"
            } else {
                "application/xml"
            };
            named(StatusCode::OK, &name, content_type, bytes)
        }
        Exchange::Rejected { name, bytes, code } => {
            let mut r = named(status_of_rejection, &name, "text/plain", bytes);
            r.headers_mut().insert(
                header::HeaderName::from_static(ERROR_CODE),
                HeaderValue::from_static(code),
            );
            r
        }
    }
}

/// The request's body in one buffer sized by its `Content-Length` (a
/// 40 MB upload is not collected in pieces and copied), or `None` when it
/// is larger than a file may be or breaks off.
async fn body_of(headers: &HeaderMap, body: axum::body::Body) -> Option<Vec<u8>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > MAX_FILE_BYTES {
        return None;
    }
    let mut out = Vec::with_capacity(declared);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        let chunk = chunk.ok()?;
        if out.len() + chunk.len() > MAX_FILE_BYTES {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out)
}

async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let link = match link(&state, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = Utc::now();
    let Some(body) = body_of(&headers, body).await else {
        let too_large = Rejection::new(
            RejectionKind::Read(zaitaku_proto::oqs::ReadError::TooLarge),
            format!("{MAX_FILE_BYTES} bytes"),
        );
        let err_name =
            RequestName::parse(&name).map_or_else(|_| file_name::err_name_for(&name), |n| n.err());
        return match oqs::refuse(&state.store, &link, &err_name, &too_large, now).await {
            Ok(exchange) => answer(&state, exchange, StatusCode::PAYLOAD_TOO_LARGE),
            Err(e) => failure(&e),
        };
    };
    match oqs::exchange(
        &state.store,
        &link,
        &name,
        body,
        state.pdf_font.as_ref(),
        now,
    )
    .await
    {
        Ok(exchange) => answer(&state, exchange, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => failure(&e),
    }
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: i64,
}

async fn face(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(after): Query<After>,
) -> Response {
    let link = match link(&state, &headers).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match oqs::next_face(&state.store, &link, after.after, Utc::now()).await {
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Ok(Some(face)) => {
            let mut r = named(StatusCode::OK, &face.name, "application/xml", face.bytes);
            if let Ok(v) = HeaderValue::from_str(&face.cursor.to_string()) {
                r.headers_mut()
                    .insert(header::HeaderName::from_static(CURSOR), v);
            }
            r
        }
        Err(e) => failure(&e),
    }
}

/// Works the receipt-computer interface's queued uploads for as long as the
/// server runs: every node does, and the database's leases keep two nodes
/// from doing the same job at once.
pub async fn work_jobs(store: zaitaku_storage::Store) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        loop {
            match zaitaku_service::jobs::work_one(&store, &Utc::now).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "a receipt-computer job failed; it is tried again when its lease runs out");
                    break;
                }
            }
        }
    }
}
