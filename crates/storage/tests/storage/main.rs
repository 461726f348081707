//! The storage crate's integration tests, one binary for the crate (one link
//! instead of one per file): the repositories and the group-commit writer on
//! SQLite and PostgreSQL through `zaitaku_testkit::on_both!`, and the SQLite
//! migrations that rebuild tables.
//!
//! One module: `cargo test -p zaitaku-storage --test storage -- writer::`.
// The whole binary is test code, so clippy.toml's allow-*-in-tests covers
// its helper functions too (rust-clippy#11119).
#![cfg(test)]

mod identity;
mod sqlite_migrations;
mod store;
mod writer;
