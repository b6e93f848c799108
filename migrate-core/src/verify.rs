//! What [`Runner::verify`](crate::Runner::verify) found in a database that
//! is already migrated.

use std::fmt;

/// The findings of the checks of a migrated database; empty when all is well.
///
/// - SQLite: `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
/// - PostgreSQL: invalid indexes, `NOT VALID` constraints never validated,
///   and sequences behind their column's values.
/// - Both: migrations the history records as incomplete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub(crate) findings: Vec<Finding>,
}

/// One problem the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// SQLite: a line of `PRAGMA integrity_check` other than `ok`, or the
    /// error that stopped it (a corrupt page often does).
    Integrity {
        /// SQLite's message.
        message: String,
    },
    /// SQLite: a row whose foreign key points at no row of its parent table.
    ForeignKey(ForeignKeyViolation),
    /// PostgreSQL: an index marked invalid, as a failed `CREATE INDEX
    /// CONCURRENTLY` leaves it (or one being built concurrently right now).
    /// Queries do not use it, and a unique one still enforces uniqueness on
    /// new rows.
    InvalidIndex {
        /// The index's schema.
        schema: String,
        /// The index.
        index: String,
        /// Its table.
        table: String,
    },
    /// PostgreSQL: a constraint added `NOT VALID` and never validated, so
    /// the rows that existed then were never checked.
    NotValidConstraint {
        /// The schema of its table or domain.
        schema: String,
        /// The constraint.
        constraint: String,
        /// The table, or the domain, it belongs to.
        on: String,
    },
    /// PostgreSQL: a sequence whose next value is already in its column, so
    /// the next insert that uses it fails on a duplicate key (typical after
    /// rows were copied in with their ids).
    SequenceBehind {
        /// The sequence's schema.
        schema: String,
        /// The sequence.
        sequence: String,
        /// The table whose column owns it.
        table: String,
        /// The column.
        column: String,
        /// The value the sequence hands out next.
        next: String,
        /// The column's highest value (its lowest, for a descending sequence).
        highest: String,
    },
    /// A migration the history records as unfinished: a `no-transaction`
    /// migration that stopped part-way, or one running now.
    Incomplete {
        /// Its version.
        version: i64,
        /// Its description, as recorded.
        description: String,
        /// How many of its statements completed.
        statements_done: i64,
    },
    /// A check returned more rows than are listed; the rest were left out.
    Truncated {
        /// The check.
        check: &'static str,
        /// How many were listed.
        listed: usize,
    },
}

/// A row that breaks a foreign key, as `PRAGMA foreign_key_check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKeyViolation {
    /// The table holding the row.
    pub table: String,
    /// The row's rowid; `None` for a `WITHOUT ROWID` table.
    pub rowid: Option<i64>,
    /// The table the key points into.
    pub parent: String,
    /// The key's columns, as `child -> parent`.
    pub columns: String,
}

impl Verification {
    /// Whether the checks found nothing.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Every finding, in the order of the checks.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.findings.len() {
            0 => f.write_str("the checks found nothing wrong"),
            count => {
                let plural = if count == 1 { "" } else { "s" };
                write!(f, "the checks found {count} problem{plural}:")?;
                for finding in &self.findings {
                    write!(f, "\n  {finding}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Integrity { message } => write!(f, "integrity: {message}"),
            Finding::ForeignKey(violation) => write!(f, "foreign key: {violation}"),
            Finding::InvalidIndex {
                schema,
                index,
                table,
            } => write!(
                f,
                "invalid index {schema}.{index} on {table}: drop it and create it again (`DROP INDEX CONCURRENTLY`, then `CREATE INDEX CONCURRENTLY`)"
            ),
            Finding::NotValidConstraint {
                schema,
                constraint,
                on,
            } => write!(
                f,
                "constraint {constraint} on {schema}.{on} was added NOT VALID and never validated: `ALTER TABLE … VALIDATE CONSTRAINT {constraint}` checks the old rows"
            ),
            Finding::SequenceBehind {
                schema,
                sequence,
                table,
                column,
                next,
                highest,
            } => write!(
                f,
                "sequence {schema}.{sequence} would hand out {next} next, but {table}.{column} already reaches {highest}: move it on with `SELECT setval(…)`"
            ),
            Finding::Incomplete {
                version,
                description,
                statements_done,
            } => write!(
                f,
                "migration {version} ({description}) is incomplete after {statements_done} statements: finish or undo it by hand, then `migrate resolve {version}`"
            ),
            Finding::Truncated { check, listed } => {
                write!(f, "{check}: more problems than the {listed} listed")
            }
        }
    }
}

impl fmt::Display for ForeignKeyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = match self.rowid {
            Some(rowid) => format!("row {rowid}"),
            None => "a row".to_owned(),
        };
        write!(
            f,
            "{row} of {} points at no row of {} ({})",
            self.table, self.parent, self.columns
        )
    }
}
