//! Revocation as a pluggable provider.
//!
//! In the real system revocation data may only come through an approved
//! operator (JPKI's CRL/OCSP). The verifier asks a [`RevocationProvider`]; this
//! module ships the in-memory [`LocalRevocationList`] the simulation uses. A
//! CRL- or OCSP-backed provider implements the same trait.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock};

use thiserror::Error;

/// The provider could not answer (network, stale CRL…). The verifier then
/// refuses the certificate: it never treats "unknown" as "not revoked".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("失効情報を確認できません: {0}")]
pub struct RevocationError(pub String);

/// Answers whether a certificate is revoked.
pub trait RevocationProvider: Send + Sync {
    /// `issuer` is the issuing CA's common name (as in
    /// [`Verified::issuer_cn`](crate::Verified::issuer_cn)); `serial_hex` is the
    /// serial spelled by [`serial_hex`](crate::serial_hex) (lowercase, even
    /// number of digits).
    fn is_revoked(&self, issuer: &str, serial_hex: &str) -> Result<bool, RevocationError>;
}

/// A thread-safe in-memory revocation list keyed by (issuer CN, serial hex).
#[derive(Debug, Default)]
pub struct LocalRevocationList {
    entries: RwLock<HashMap<String, HashSet<String>>>,
}

impl LocalRevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revoke a certificate. Returns false if it was already listed.
    pub fn add(&self, issuer: &str, serial_hex: &str) -> bool {
        // The map holds plain data with no invariant a panicking writer could
        // break, so a poisoned lock is still safe to use.
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries
            .entry(issuer.to_owned())
            .or_default()
            .insert(normalise(serial_hex))
    }

    /// Un-revoke (e.g. an entry added by mistake). Returns false if it was not listed.
    pub fn remove(&self, issuer: &str, serial_hex: &str) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let Some(serials) = entries.get_mut(issuer) else {
            return false;
        };
        let removed = serials.remove(&normalise(serial_hex));
        if serials.is_empty() {
            entries.remove(issuer);
        }
        removed
    }

    /// Whether a certificate is listed.
    pub fn contains(&self, issuer: &str, serial_hex: &str) -> bool {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.get(issuer).is_some_and(|serials| {
            // Avoid allocating in the usual case where the caller already
            // passes the canonical lowercase spelling.
            if serial_hex.bytes().any(|b| b.is_ascii_uppercase()) {
                serials.contains(&normalise(serial_hex))
            } else {
                serials.contains(serial_hex)
            }
        })
    }

    /// Number of revoked certificates listed.
    pub fn len(&self) -> usize {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries.values().map(HashSet::len).sum()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All entries as (issuer, serial hex), sorted, e.g. for `card list`.
    pub fn entries(&self) -> Vec<(String, String)> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(String, String)> = entries
            .iter()
            .flat_map(|(issuer, serials)| serials.iter().map(|s| (issuer.clone(), s.clone())))
            .collect();
        out.sort();
        out
    }
}

impl RevocationProvider for LocalRevocationList {
    fn is_revoked(&self, issuer: &str, serial_hex: &str) -> Result<bool, RevocationError> {
        Ok(self.contains(issuer, serial_hex))
    }
}

fn normalise(serial_hex: &str) -> String {
    serial_hex.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn add_remove_contains() {
        let list = LocalRevocationList::new();
        assert!(list.is_empty());
        assert!(list.add("CA 2023", "0A1B"));
        assert!(!list.add("CA 2023", "0a1b"));
        assert!(list.contains("CA 2023", "0a1b"));
        assert!(list.contains("CA 2023", "0A1B"));
        assert!(!list.contains("CA 2026", "0a1b"));
        assert_eq!(list.is_revoked("CA 2023", "0a1b"), Ok(true));
        assert_eq!(list.is_revoked("CA 2023", "0a1c"), Ok(false));
        list.add("CA 2026", "01");
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.entries(),
            vec![
                ("CA 2023".to_owned(), "0a1b".to_owned()),
                ("CA 2026".to_owned(), "01".to_owned())
            ]
        );
        assert!(list.remove("CA 2023", "0A1B"));
        assert!(!list.remove("CA 2023", "0A1B"));
        assert!(!list.remove("nobody", "01"));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn shared_between_threads() {
        let list = Arc::new(LocalRevocationList::new());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let list = Arc::clone(&list);
                std::thread::spawn(move || {
                    for i in 0..100 {
                        list.add("CA", &format!("{t:02x}{i:02x}"));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(list.len(), 400);
        let provider: Arc<dyn RevocationProvider> = list;
        assert_eq!(provider.is_revoked("CA", "0363"), Ok(true));
    }
}
