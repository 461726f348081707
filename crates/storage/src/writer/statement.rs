//! The plain write step: one statement with arguments it owns. A repository
//! whose write is a single `UPDATE` or `INSERT` with nothing to read back
//! sends a [`Statement`] instead of defining a step of its own.

use super::{Db, Refusal, Step, Written};
use crate::Result;
use crate::sql::Arg;

/// An argument a [`Statement`] owns (it outlives the caller's borrow).
pub(crate) enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl Value {
    fn arg(&self) -> Arg<'_> {
        match self {
            Self::Int(v) => Arg::Int(*v),
            Self::OptInt(v) => Arg::OptInt(*v),
            Self::Text(v) => Arg::Text(v),
            Self::OptText(v) => Arg::OptText(v.as_deref()),
        }
    }
}

pub(crate) struct Statement {
    sql: &'static str,
    args: Vec<Value>,
    /// Refuse the job ([`Refusal::NoChange`]) when no row changed: a
    /// conditional write (only a row in the state it requires).
    conditional: bool,
    /// A unique constraint it may break, named for the message.
    unique: Option<&'static str>,
}

impl Statement {
    /// Whatever it changes.
    pub(crate) fn new(sql: &'static str, args: Vec<Value>) -> Self {
        Self {
            sql,
            args,
            conditional: false,
            unique: None,
        }
    }

    /// Refused unless it changes a row.
    pub(crate) fn conditional(sql: &'static str, args: Vec<Value>) -> Self {
        Self {
            conditional: true,
            ..Self::new(sql, args)
        }
    }

    /// Breaking a unique constraint is the caller's mistake about `field`.
    pub(crate) fn unique_as(mut self, field: &'static str) -> Self {
        self.unique = Some(field);
        self
    }
}

impl Step for Statement {
    fn run(&self, db: &mut Db) -> Result<Result<Written, Refusal>> {
        let args: Vec<Arg<'_>> = self.args.iter().map(Value::arg).collect();
        let changed = db.changed(self.sql, &args).map_err(|e| match self.unique {
            Some(field) => e.unique_as(field),
            None => e,
        })?;
        Ok(if self.conditional && changed == 0 {
            Err(Refusal::NoChange)
        } else {
            Ok(Written::Done)
        })
    }
}
