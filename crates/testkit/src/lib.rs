//! Test support shared by the crates' integration tests: databases, the real
//! server with its clients and fixtures, and a headless Chromium.
//!
//! * [`database`] — a fresh SQLite or PostgreSQL database per test, free
//!   ports; [`on_both!`] runs one test body on each;
//! * [`server`] — the real server (web service, administration, stand-in
//!   authenticator) on a free port, for any surface's tests;
//! * [`client`] — HTTP clients: an administration [`client::Browser`] with
//!   the login helpers, the patient's [`client::Visitor`], page readers;
//! * [`fixtures`] — institutions, accounts, synthetic patients, consents,
//!   cards, the shared password, dates in Japan;
//! * [`chromium`] — a headless Chromium through chromedriver, screenshots and
//!   the axe-core accessibility check.
//!
//! Used only by tests (a dev-dependency everywhere); it depends on
//! `zaitaku-web` to start the server, a dev-dependency cycle that cargo
//! allows for integration tests.

// Test support, used only as a dev-dependency: a fixture that cannot be set
// up fails the test that asked for it, and a panic with the reason is how a
// test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod chromium;
pub mod client;
pub mod database;
pub mod fixtures;
pub mod server;

pub use chromium::{
    Browser, PHONE_UA, add_virtual_authenticator, assert_accessible, browser, full_page_png, shot,
};
pub use database::{TempSqlite, free_port, postgres, postgres_bin_dir, sqlite};
/// A synthetic person with no qualifications or certificates
/// ([`fixtures::eligibility`]).
pub use fixtures::eligibility as person;

/// Declares one async test per backend around a shared body
/// `async fn name(database_url: &str)`: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::sqlite();
                super::$name(&db.url).await;
            }
            #[tokio::test]
            async fn postgres() {
                let url = $crate::postgres().await;
                super::$name(&url).await;
            }
        }
    };
}
