//! Failures inside the engine. SQL errors and the store's own refusals travel together
//! through `?` and become a [`StoreError`] at the API boundary, where anything internal
//! (SQL text, corrupt rows) turns into `StoreError::Backend`.

use portcullis_store::StoreError;
use rusqlite::ffi;

/// Why an engine step failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The model refuses the request; shown to the client as is.
    Refused(StoreError),
    /// SQLite failed.
    Sql(rusqlite::Error),
    /// A stored value does not decode, or an internal invariant broke.
    Internal(String),
}

/// Result of an engine step.
pub(crate) type DbResult<T> = Result<T, Failure>;

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure::Sql(error)
    }
}

impl From<rusqlite::types::FromSqlError> for Failure {
    fn from(error: rusqlite::types::FromSqlError) -> Failure {
        Failure::Internal(format!("stored value of the wrong type: {error}"))
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Refused(error)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> StoreError {
        match failure {
            Failure::Refused(error) => error,
            Failure::Sql(error) => StoreError::Backend(format!("sqlite: {error}")),
            Failure::Internal(text) => StoreError::Backend(format!("sqlite store: {text}")),
        }
    }
}

/// Whether `error` is a UNIQUE or PRIMARY KEY violation (a name that is taken).
pub(crate) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    error.sqlite_error().is_some_and(|error| {
        matches!(
            error.extended_code,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    })
}
