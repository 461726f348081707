//! What every handler can reach, and the few facts of the deployment it
//! derives (the public origin, an institution's URL, today in Japan).

use std::sync::Arc;

use zaitaku_domain::staff_app::CodeTerms;
use zaitaku_identity::Identity;
use zaitaku_proto::oqs::pdf::PdfFont;
use zaitaku_proto::partner::ReturnSigner;
use zaitaku_storage::Store;

use crate::partner_key;

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
    /// When an activation code of the staff app opens (the demo waits no
    /// time; docs/design/staff-app.md).
    pub code_terms: CodeTerms,
    /// How long a 健康保険証利用登録 made in the staff app takes to come into
    /// force (the national system's processing; the demo's is short).
    pub registration_delay: chrono::Duration,
    /// The staff app's passkeys: the relying party of the public URL.
    pub passkeys: Arc<webauthn_rs::Webauthn>,
    /// The Japanese font of 薬剤情報・特定健診情報 as PDF; without one those
    /// are offered as XML only.
    pub pdf_font: Option<PdfFont>,
    /// Receipt-computer credentials authenticated a moment ago.
    pub oqs_links: Arc<zaitaku_service::oqs_link::LinkCache>,
}

/// Why the server's state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Identity(#[from] zaitaku_identity::IdentityError),
    #[error(transparent)]
    SigningKey(#[from] partner_key::SigningKeyError),
    #[error(transparent)]
    Service(#[from] zaitaku_service::ServiceError),
}

impl AppState {
    /// With a fresh return-signing key: fine for one node that never
    /// restarts during a visit (tests, the demo without a data folder);
    /// otherwise give every node the same key with [`AppState::with_signer`].
    /// The stand-in authenticator is routed; a production server turns it off
    /// with [`AppState::with_stand_in_authenticator`]. PDFs are written in
    /// the Japanese font installed on the machine, if any.
    pub async fn new(store: Store, public_url: String) -> Result<Self, StateError> {
        let identity = Identity::new(store.clone()).await?;
        let pdf_font = tokio::task::spawn_blocking(crate::pdf_font::installed)
            .await
            .ok()
            .flatten();
        Ok(Self {
            store,
            identity,
            signer: Arc::new(partner_key::generate()?),
            stand_in_authenticator: true,
            code_terms: CodeTerms::standard(),
            registration_delay: chrono::Duration::seconds(60),
            passkeys: Arc::new(zaitaku_service::device::passkey::relying_party(
                &public_url,
            )?),
            public_url,
            pdf_font,
            oqs_links: Arc::default(),
        })
    }

    pub fn with_pdf_font(mut self, font: Option<PdfFont>) -> Self {
        self.pdf_font = font;
        self
    }

    pub fn with_stand_in_authenticator(mut self, on: bool) -> Self {
        self.stand_in_authenticator = on;
        self
    }

    pub fn with_code_terms(mut self, terms: CodeTerms) -> Self {
        self.code_terms = terms;
        self
    }

    pub fn with_registration_delay(mut self, delay: chrono::Duration) -> Self {
        self.registration_delay = delay;
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
