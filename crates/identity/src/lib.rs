//! Card identity services: what the authenticator, the web service and the
//! command line do with cards, on top of the pure rules of `zaitaku-card` and
//! the tables of `zaitaku-storage`.
//!
//! - The stand-in's certificate authorities (two anchors, as after the 2023
//!   JPKI CA rollover) and card issuance.
//! - The card component: PIN attempts with the lock rules, signing.
//! - Nonces for the web service, and the verification of a returned token
//!   down to a person in the eligibility registry.
//! - The card reader's certificate-only read for the staff app's 目視確認.
//!
//! Every attempt that reaches the card, success or failure, is written to the
//! audit log (a PIN that is not four digits never reaches it). A PIN is
//! never logged, stored in clear, or returned.

mod errors;
mod issue;
mod login;
mod reader;
mod wallet;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use zaitaku_card::{LocalRevocationList, Verifier};
use zaitaku_storage::{AuditEvent, Store};

pub use errors::{AttemptError, IdentityError, LoginError};
pub use issue::IssueCard;
pub use login::{Identified, PendingLogin};
pub use wallet::{CardSecret, WalletCard};
pub use zaitaku_card::{CardKind, CertificateStatus};

/// How long a nonce may wait for its token (Web eID: at most 5 minutes).
pub const NONCE_LIFETIME_MINUTES: i64 = 5;

/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Rebuilt when an authority is added; read on every verification.
    verifier: RwLock<Arc<Verifier>>,
    revocations: Arc<LocalRevocationList>,
}

impl Identity {
    /// Loads the anchors and the local revocation list from the database.
    pub async fn new(store: Store) -> Result<Self, IdentityError> {
        let revocations = Arc::new(LocalRevocationList::new());
        for (issuer, serial) in store.revoked_serials().await? {
            revocations.add(&issuer, &serial);
        }
        let verifier = build_verifier(&store, &revocations).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                verifier: RwLock::new(Arc::new(verifier)),
                revocations,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn verifier(&self) -> Arc<Verifier> {
        match self.inner.verifier.read() {
            Ok(v) => Arc::clone(&v),
            // A writer panicked mid-swap; the old verifier is still whole.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    async fn reload_verifier(&self) -> Result<(), IdentityError> {
        let fresh = build_verifier(&self.inner.store, &self.inner.revocations).await?;
        match self.inner.verifier.write() {
            Ok(mut v) => *v = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(())
    }

    /// Audit without failing the caller's action: a lost audit record is
    /// logged loudly, but the patient's answer does not depend on it.
    async fn audit(&self, event: AuditEvent<'_>, now: DateTime<Utc>) {
        if let Err(e) = self.inner.store.audit(&event, now).await {
            tracing::error!(error = %e, action = event.action, "audit record could not be written");
        }
    }
}

async fn build_verifier(
    store: &Store,
    revocations: &Arc<LocalRevocationList>,
) -> Result<Verifier, IdentityError> {
    let anchors: Vec<Vec<u8>> = store
        .authorities()
        .await?
        .into_iter()
        .map(|a| a.cert_der)
        .collect();
    Ok(Verifier::new(anchors, revocations.clone())?)
}

/// Fills `buf` from the operating system's secure random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), IdentityError> {
    getrandom::fill(buf).map_err(|e| IdentityError::Random(e.to_string()))
}
