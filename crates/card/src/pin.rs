//! The user-authentication PIN (利用者証明用電子証明書の暗証番号) as a pure state
//! machine, and the hash the card component stores instead of the PIN.
//!
//! Rules (JPKI): 4 digits; 3 consecutive wrong PINs lock the card; only a
//! correct PIN resets the counter; a locked card refuses even the correct PIN
//! until the municipality (市区町村窓口) sets a new PIN. The physical card and
//! the Android smartphone certificate follow these rules; the iPhone
//! certificate is unlocked by biometrics and has no PIN
//! ([`CardKind::uses_pin`](crate::CardKind::uses_pin)).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::card::random_bytes;

/// Number of digits of a PIN.
pub const PIN_LENGTH: usize = 4;
/// Consecutive wrong PINs that lock the card.
pub const MAX_TRIES: u8 = 3;

/// Why a string is not a PIN. Checked before the card is asked, so it does not
/// use up a try (the real keypad accepts nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PinFormatError {
    /// Not exactly 4 characters.
    #[error("暗証番号は数字4桁で入力してください。")]
    WrongLength,
    /// A character other than the ASCII digits 0–9 (full-width digits included).
    #[error("暗証番号には半角数字（0〜9）だけを使ってください。")]
    NotDigits,
}

/// Check that `pin` is exactly 4 ASCII digits.
pub fn validate_pin(pin: &str) -> Result<(), PinFormatError> {
    if pin.chars().count() != PIN_LENGTH {
        return Err(PinFormatError::WrongLength);
    }
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinFormatError::NotDigits);
    }
    Ok(())
}

/// What happened on one PIN attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PinOutcome {
    /// Right PIN: the card may sign; the counter is back to 3.
    Accepted,
    /// Wrong PIN; `tries_left` (1 or 2) remain before the card locks.
    Wrong {
        /// Tries left before the card locks.
        tries_left: u8,
    },
    /// Wrong PIN on the last try: the card is now locked.
    LockedNow,
    /// The card was already locked; the PIN was not checked.
    AlreadyLocked,
}

/// The retry counter of one card. Serialises as `{"tries_left":3,"locked":false}`;
/// deserialising goes through [`PinCounter::from_stored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredPinCounter")]
pub struct PinCounter {
    tries_left: u8,
    locked: bool,
}

#[derive(Deserialize)]
struct StoredPinCounter {
    tries_left: u8,
    locked: bool,
}

impl From<StoredPinCounter> for PinCounter {
    fn from(s: StoredPinCounter) -> Self {
        PinCounter::from_stored(s.tries_left, s.locked)
    }
}

impl Default for PinCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl PinCounter {
    /// A fresh card: 3 tries, unlocked.
    pub const fn new() -> Self {
        PinCounter {
            tries_left: MAX_TRIES,
            locked: false,
        }
    }

    /// Rebuild a counter from storage. Out-of-range values are normalised
    /// towards the safe side: more than 3 becomes 3, 0 tries means locked.
    pub fn from_stored(tries_left: u8, locked: bool) -> Self {
        let tries_left = tries_left.min(MAX_TRIES);
        if locked || tries_left == 0 {
            PinCounter {
                tries_left: 0,
                locked: true,
            }
        } else {
            PinCounter {
                tries_left,
                locked: false,
            }
        }
    }

    /// Tries left before the card locks (0 when locked). Reading it does not use a try.
    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    /// Whether the card is locked.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Whether the next try is the last one (the authenticator warns before it).
    pub fn is_last_try(&self) -> bool {
        !self.locked && self.tries_left == 1
    }

    /// Record one attempt whose correctness the card has established.
    pub fn attempt(&mut self, correct: bool) -> PinOutcome {
        if self.locked {
            // A locked card refuses even the right PIN.
            return PinOutcome::AlreadyLocked;
        }
        if correct {
            self.tries_left = MAX_TRIES;
            return PinOutcome::Accepted;
        }
        self.tries_left = self.tries_left.saturating_sub(1);
        if self.tries_left == 0 {
            self.locked = true;
            PinOutcome::LockedNow
        } else {
            PinOutcome::Wrong {
                tries_left: self.tries_left,
            }
        }
    }

    /// Check `pin` against the stored `pin_hash` and record the attempt.
    ///
    /// A locked card answers [`PinOutcome::AlreadyLocked`] without looking at
    /// the PIN. A PIN that is not 4 ASCII digits is refused with
    /// [`PinError::Format`] and does not use up a try.
    pub fn check(&mut self, pin: &str, pin_hash: &str) -> Result<PinOutcome, PinError> {
        if self.locked {
            return Ok(PinOutcome::AlreadyLocked);
        }
        validate_pin(pin)?;
        let correct = verify_pin(pin, pin_hash)?;
        Ok(self.attempt(correct))
    }

    /// The municipality sets a new PIN (after checking the holder's identity):
    /// validates `new_pin`, unlocks, resets the counter to 3 and returns the
    /// hash to store. The caller audits the action. Nothing changes on error.
    pub fn reset_by_municipality(&mut self, new_pin: &str) -> Result<String, PinError> {
        let hash = hash_pin(new_pin)?;
        *self = PinCounter::new();
        Ok(hash)
    }
}

/// Failure of a PIN operation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PinError {
    /// The PIN is not 4 ASCII digits.
    #[error(transparent)]
    Format(#[from] PinFormatError),
    /// The stored hash is unreadable, or hashing failed.
    #[error("暗証番号の照合データが壊れています: {0}")]
    Hash(String),
}

/// Hash a PIN with Argon2id (argon2 crate defaults: 19 MiB, 2 passes, 1 lane)
/// and a random 16-byte salt, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// A 4-digit PIN has only 10,000 values, so the hash alone does not protect
/// it from someone who steals the database; what protects the PIN is the
/// retry counter and keeping the hash inside the card component.
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    validate_pin(pin)?;
    let salt_bytes = random_bytes::<16>().map_err(|e| PinError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PinError::Hash(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|e| PinError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `pin` matches `pin_hash` (a PHC string from [`hash_pin`]). Does not
/// touch any counter; use [`PinCounter::check`] for a card attempt.
pub fn verify_pin(pin: &str, pin_hash: &str) -> Result<bool, PinError> {
    let parsed = PasswordHash::new(pin_hash).map_err(|e| PinError::Hash(e.to_string()))?;
    match Argon2::default().verify_password(pin.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PinError::Hash(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_format() {
        assert_eq!(validate_pin("1234"), Ok(()));
        assert_eq!(validate_pin("0000"), Ok(()));
        assert_eq!(validate_pin("123"), Err(PinFormatError::WrongLength));
        assert_eq!(validate_pin("12345"), Err(PinFormatError::WrongLength));
        assert_eq!(validate_pin(""), Err(PinFormatError::WrongLength));
        assert_eq!(validate_pin("12a4"), Err(PinFormatError::NotDigits));
        // Full-width digits are 4 characters but not ASCII digits.
        assert_eq!(validate_pin("１２３４"), Err(PinFormatError::NotDigits));
        assert_eq!(validate_pin("12 4"), Err(PinFormatError::NotDigits));
        assert_eq!(validate_pin("-123"), Err(PinFormatError::NotDigits));
    }

    #[test]
    fn third_wrong_pin_locks() {
        let mut c = PinCounter::new();
        assert_eq!(c.tries_left(), 3);
        assert!(!c.is_last_try());
        assert_eq!(c.attempt(false), PinOutcome::Wrong { tries_left: 2 });
        assert_eq!(c.attempt(false), PinOutcome::Wrong { tries_left: 1 });
        assert!(c.is_last_try());
        assert_eq!(c.attempt(false), PinOutcome::LockedNow);
        assert!(c.is_locked());
        assert_eq!(c.tries_left(), 0);
        assert_eq!(c.attempt(false), PinOutcome::AlreadyLocked);
    }

    #[test]
    fn success_resets_the_counter() {
        let mut c = PinCounter::new();
        c.attempt(false);
        c.attempt(false);
        assert_eq!(c.attempt(true), PinOutcome::Accepted);
        assert_eq!(c.tries_left(), 3);
        // The two earlier wrong tries no longer count.
        assert_eq!(c.attempt(false), PinOutcome::Wrong { tries_left: 2 });
        assert_eq!(c.attempt(false), PinOutcome::Wrong { tries_left: 1 });
        assert_eq!(c.attempt(false), PinOutcome::LockedNow);
    }

    #[test]
    fn locked_card_refuses_the_right_pin() {
        let mut c = PinCounter::from_stored(0, true);
        assert_eq!(c.attempt(true), PinOutcome::AlreadyLocked);
        assert!(c.is_locked());
        assert_eq!(c.tries_left(), 0);
    }

    #[test]
    fn municipality_reset_unlocks() {
        let mut c = PinCounter::new();
        for _ in 0..3 {
            c.attempt(false);
        }
        assert!(c.is_locked());
        // An invalid new PIN changes nothing.
        assert!(matches!(
            c.reset_by_municipality("12"),
            Err(PinError::Format(_))
        ));
        assert!(c.is_locked());
        let hash = c.reset_by_municipality("2468").unwrap();
        assert!(!c.is_locked());
        assert_eq!(c.tries_left(), 3);
        assert_eq!(c.check("2468", &hash), Ok(PinOutcome::Accepted));
    }

    #[test]
    fn check_with_hash() {
        let hash = hash_pin("1234").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("1234$"));
        assert_eq!(verify_pin("1234", &hash), Ok(true));
        assert_eq!(verify_pin("4321", &hash), Ok(false));
        // Two hashes of the same PIN differ (random salt).
        assert_ne!(hash_pin("1234").unwrap(), hash);

        let mut c = PinCounter::new();
        // A malformed PIN does not use a try.
        assert_eq!(
            c.check("１２３４", &hash),
            Err(PinError::Format(PinFormatError::NotDigits))
        );
        assert_eq!(c.tries_left(), 3);
        assert_eq!(
            c.check("0000", &hash),
            Ok(PinOutcome::Wrong { tries_left: 2 })
        );
        assert_eq!(c.check("1234", &hash), Ok(PinOutcome::Accepted));
        assert_eq!(
            c.check("0000", &hash),
            Ok(PinOutcome::Wrong { tries_left: 2 })
        );
        assert_eq!(
            c.check("0000", &hash),
            Ok(PinOutcome::Wrong { tries_left: 1 })
        );
        assert_eq!(c.check("0000", &hash), Ok(PinOutcome::LockedNow));
        // Locked: even the right PIN, and even a malformed one, gets AlreadyLocked.
        assert_eq!(c.check("1234", &hash), Ok(PinOutcome::AlreadyLocked));
        assert_eq!(c.check("12", &hash), Ok(PinOutcome::AlreadyLocked));
        assert!(matches!(
            PinCounter::new().check("1234", "not a hash"),
            Err(PinError::Hash(_))
        ));
        assert!(matches!(hash_pin("12a4"), Err(PinError::Format(_))));
    }

    #[test]
    fn stored_counters_are_normalised() {
        assert_eq!(PinCounter::from_stored(9, false), PinCounter::new());
        assert!(PinCounter::from_stored(0, false).is_locked());
        assert!(PinCounter::from_stored(2, true).is_locked());
        assert_eq!(PinCounter::from_stored(2, false).tries_left(), 2);
        assert_eq!(PinCounter::default(), PinCounter::new());
        let stored: PinCounter =
            serde_json::from_str(r#"{"tries_left":0,"locked":false}"#).unwrap();
        assert!(stored.is_locked());
        assert_eq!(
            serde_json::to_string(&PinCounter::new()).unwrap(),
            r#"{"tries_left":3,"locked":false}"#
        );
        assert_eq!(
            serde_json::to_string(&PinOutcome::Wrong { tries_left: 1 }).unwrap(),
            r#"{"outcome":"wrong","tries_left":1}"#
        );
    }
}
