//! The `zaitaku` binary's integration tests, one test binary for the crate
//! (one link instead of one per file): the command line as a user and a
//! script run it, `zaitaku card …` and `zaitaku audit verify`, on SQLite and
//! PostgreSQL.
//!
//! One module: `cargo test -p zaitaku --test zaitaku -- card_cli::`.
// The whole binary is test code, so clippy.toml's allow-*-in-tests covers
// its helper functions too (rust-clippy#11119).
#![cfg(test)]

mod audit_cli;
mod card_cli;
mod cli;
