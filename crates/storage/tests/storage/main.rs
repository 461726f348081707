//! The storage crate's integration tests, one binary for the crate (one link
//! instead of one per file): the repositories and the group-commit writer on
//! SQLite and PostgreSQL through `zaitaku_testkit::on_both!`, and the SQLite
//! migrations that rebuild tables.
//!
//! One module: `cargo test -p zaitaku-storage --test storage -- writer::`.

mod identity;
mod sqlite_migrations;
mod store;
mod writer;
