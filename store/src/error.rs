//! The crate's error type, [`StoreError`], and the mapping from database constraint errors to
//! the variants callers act on (`Conflict`, `NotFound`).

use sqlx::error::ErrorKind;

/// Everything a storage call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened. The URL has its password replaced by `***`.
    #[error("cannot connect to database {url_redacted}: {source}")]
    Connect {
        /// The database URL, password hidden.
        url_redacted: String,
        /// What the driver reported.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed for a reason not covered by the other variants (connection lost, pool
    /// timed out, a row that does not decode, …).
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A row the operation needs does not exist.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// The kind of row, e.g. `"tenant"`.
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// A uniqueness rule was hit, e.g. a number that is already routed.
    #[error("conflict: {what}")]
    Conflict {
        /// What clashed, in words.
        what: String,
    },
    /// An argument was rejected before touching the database.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// The argument or field at fault.
        field: &'static str,
        /// Why it was rejected.
        problem: String,
    },
}

impl StoreError {
    /// Shorthand for [`StoreError::Invalid`].
    pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            field,
            problem: problem.into(),
        }
    }

    /// Shorthand for [`StoreError::NotFound`].
    pub(crate) fn not_found(what: &'static str, id: &str) -> StoreError {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

/// True if `err` is a violated UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// True if `err` is a violated FOREIGN KEY constraint.
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

/// Maps an insert's error: a unique violation becomes `Conflict { what: conflict }`, a foreign
/// key violation becomes `NotFound { what: missing.0, id: missing.1 }`, anything else `Query`.
pub(crate) fn map_insert_error(
    err: sqlx::Error,
    conflict: impl FnOnce() -> String,
    missing: (&'static str, &str),
) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Conflict { what: conflict() }
    } else if is_foreign_key_violation(&err) {
        StoreError::not_found(missing.0, missing.1)
    } else {
        StoreError::Query(err)
    }
}
