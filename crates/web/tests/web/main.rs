//! The web service's integration tests, one binary for the crate (one link
//! instead of one per file): one module per subject, on SQLite and
//! PostgreSQL through `zaitaku_testkit::on_both!`, the browser modules in a
//! headless Chromium. The server, its clients and the
//! fixtures are in `zaitaku_testkit`.
//!
//! One module: `cargo test -p zaitaku-web --test web -- flows_e2e::`.
// The whole binary is test code, so clippy.toml's allow-*-in-tests covers
// its helper functions too (rust-clippy#11119).
#![cfg(test)]
// Tests set up their fixtures (and tamper with rows) behind the application's
// back; the lint in crates/web/clippy.toml is for the server's code.
#![allow(clippy::disallowed_methods)]

mod admin;
mod admin_e2e;
mod admin_gating;
mod admin_permissions;
mod browser;
mod flows;
mod flows_e2e;
mod handoff;
mod identity_e2e;
mod oqs;
mod oqs_link_e2e;
mod oqs_links;
mod oqs_samples;
mod pages;
mod staff_app;
mod staff_app_cards_e2e;
mod staff_app_e2e;
