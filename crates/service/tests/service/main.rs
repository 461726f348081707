//! The service crate's use-case tests, run on SQLite and PostgreSQL
//! (`on_both!`): one test binary, one module per group of use cases.
#![cfg(test)]

mod administration;
mod login_and_consent;

use chrono::{DateTime, TimeZone, Utc};

/// The instant every test runs at: use cases take the time as a parameter.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
}
