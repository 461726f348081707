//! The service crate's use-case tests, run on SQLite and PostgreSQL
//! (`on_both!`): one test binary, one module per group of use cases.

mod administration;
