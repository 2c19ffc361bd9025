//! Errors of the SQLite store: opening the file, and rusqlite errors mapped onto `StoreError`.
use std::path::PathBuf;

use rusqlite::ErrorCode;
use teraslice_core::store::StoreError;

/// Why a SQLite state store file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SqliteOpenError {
    #[error("cannot create the state store directory {dir} (teraslice.data_dir): {source}")]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state store file {path} has schema version {found}, newer than the newest this teraslice \
         understands ({supported}); run a teraslice at least as new as the one that wrote it, or \
         set teraslice.data_dir to another directory"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot open the SQLite state store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl From<SqliteOpenError> for StoreError {
    fn from(e: SqliteOpenError) -> Self {
        match e {
            SqliteOpenError::NewerSchema { .. } => StoreError::Data(e.to_string()),
            SqliteOpenError::CreateDir { .. } | SqliteOpenError::Sqlite { .. } => {
                StoreError::Unavailable(e.to_string())
            }
        }
    }
}

/// Maps a rusqlite error met while doing `what` (e.g. "writing slice states").
pub(crate) fn store_error(what: &str, e: rusqlite::Error) -> StoreError {
    let transient = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::PermissionDenied
                | ErrorCode::OutOfMemory
        )
    );
    if transient {
        StoreError::Unavailable(format!("SQLite state store failed {what}: {e}"))
    } else {
        StoreError::Data(format!("SQLite state store failed {what}: {e}"))
    }
}

/// Shorthand for `.map_err(|e| store_error(what, e))`.
pub(crate) trait SqlContext<T> {
    fn ctx(self, what: &str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| store_error(what, e))
    }
}
