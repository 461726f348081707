//! The `zaitaku` binary's integration tests, one test binary for the crate
//! (one link instead of one per file): the command line as a user and a
//! script run it, `zaitaku card …` and `zaitaku audit verify`, on SQLite and
//! PostgreSQL.
//!
//! One module: `cargo test -p zaitaku --test zaitaku -- card_cli::`.

mod audit_cli;
mod card_cli;
mod cli;
