//! Running the HTTP server: bind, serve, stop gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use zaitaku_domain::staff_app::CodeTerms;
use zaitaku_proto::partner::ReturnSigner;
use zaitaku_storage::Store;
use zaitaku_web::{AppState, partner_key};

pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("{addr} で待ち受けできません（使用中か、権限がありません）。--listen で別のアドレスを指定してください")
    })
}

/// The return-signing key from `path` (created there if missing), or a new
/// one for this run only.
pub fn signer(path: Option<&std::path::Path>) -> Result<ReturnSigner> {
    match path {
        Some(path) => Ok(partner_key::load_or_create(path)?),
        None => {
            tracing::warn!(
                "no --signing-key: returns to online-care partners are signed with a key that lasts only until this server stops"
            );
            Ok(partner_key::generate()?)
        }
    }
}

/// What `zaitaku serve` and `zaitaku demo` choose differently.
pub struct Options {
    pub public_url: String,
    pub signer: ReturnSigner,
    pub stand_in_authenticator: bool,
    pub code_terms: CodeTerms,
    pub registration_delay: chrono::Duration,
    /// `--pdf-font`; without it, the Japanese font installed here.
    pub pdf_font: Option<std::path::PathBuf>,
}

pub async fn run(listener: TcpListener, store: Store, options: Options) -> Result<()> {
    let Options {
        public_url,
        signer,
        stand_in_authenticator,
        code_terms,
        registration_delay,
        pdf_font,
    } = options;
    let addr = listener.local_addr().ok();
    tracing::info!(
        ?addr,
        backend = store.backend().name(),
        "zaitaku is serving"
    );
    let state = AppState::new(store.clone(), public_url)
        .await?
        .with_signer(signer)
        .with_stand_in_authenticator(stand_in_authenticator)
        .with_code_terms(code_terms)
        .with_registration_delay(registration_delay);
    let state = match pdf_font {
        Some(path) => {
            let font = zaitaku_web::pdf_font::load(&path).with_context(|| {
                "--pdf-font のフォントを使えません。日本語を含む TrueType / OpenType フォントを指定してください"
            })?;
            state.with_pdf_font(Some(font))
        }
        None => state,
    };
    match &state.pdf_font {
        Some(font) => tracing::info!(
            family = font.family(),
            "receipt-computer PDFs are written in this font"
        ),
        None => tracing::warn!(
            "no Japanese font installed: 薬剤情報・特定健診情報 are offered as XML only (install fonts-noto-cjk or give --pdf-font)"
        ),
    }
    if stand_in_authenticator {
        tracing::warn!(
            "the stand-in authenticator and its virtual cards are served: for demonstrations and tests only"
        );
    }
    tracing::info!(kid = state.signer.kid(), "partner returns are signed");
    tokio::spawn(upkeep(store.clone()));
    zaitaku_web::serve(listener, state, shutdown_signal())
        .await
        .context("サーバが異常終了しました")?;
    store.close().await;
    tracing::info!("zaitaku stopped");
    Ok(())
}

/// Every hour, what has outlived its use is removed
/// (`zaitaku_service::upkeep`); a failed round is logged and tried again
/// the next hour.
async fn upkeep(store: Store) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match zaitaku_service::upkeep::purge(&store, chrono::Utc::now()).await {
            Ok(removed) => tracing::info!(removed, "upkeep done"),
            Err(e) => tracing::warn!(error = %e, "upkeep failed"),
        }
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
