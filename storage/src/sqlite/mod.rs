//! `SqliteStore`: the embedded `StateStore`. One file in WAL mode, opened by the master, execution
//! controller and worker processes at once; status changes are compare-and-set inside
//! `BEGIN IMMEDIATE` transactions, so two processes cannot both win.
mod docs;
mod error;
mod executions;
mod jobs;
mod pool;
mod schema;
mod slices;
mod state_store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backon::{BlockingRetryable, ExponentialBuilder};
use rusqlite::Connection;
use teraslice_core::store::{StoreError, StoreResult};

pub use error::SqliteOpenError;
pub use schema::SCHEMA_VERSION;

use pool::Pool;

/// The file name inside `teraslice.data_dir`.
pub const SQLITE_FILE_NAME: &str = "teraslice.sqlite";

/// The connection [`SqliteStore::create_unsynced`] made a new file with; hold it as long as the
/// file is used (dropping it closes the connection, which may checkpoint the WAL).
pub struct FreshFile(#[allow(dead_code)] rusqlite::Connection);

/// The `StateStore` on one SQLite file. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.pool.path())
            .finish()
    }
}

impl SqliteStore {
    /// Opens `path`, creating it and its parent directories if missing, switching it to WAL and
    /// migrating its schema. Blocks (it may wait for another process's write lock).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqliteOpenError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SqliteOpenError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        // Processes opening a fresh file at once can meet a lock the busy handler does not wait
        // for (switching to WAL); another try after a pause sees the finished file.
        let retry = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_jitter()
            .with_max_times(OPEN_ATTEMPTS);
        let conn = (|| open_once(&path))
            .retry(retry)
            .sleep(std::thread::sleep)
            .when(|e| matches!(e, SqliteOpenError::Sqlite { source, .. } if is_busy(source)))
            .notify(|_, wait| tracing::debug!(path = %path.display(), ?wait, "SQLite state store busy while opening; retrying"))
            .call()?;
        tracing::debug!(path = %path.display(), "opened the SQLite state store");
        Ok(SqliteStore {
            pool: Arc::new(Pool::new(path, conn)),
        })
    }

    /// Creates `path` ready to open (WAL, current schema) without waiting for the disk: no
    /// fsync at all (`synchronous=OFF`), where a normal first open makes about five. For a
    /// throwaway store (`teraslice run`'s own data dir): a machine crash in the next moments can
    /// leave the new file unreadable, which a normal open would not. Does nothing when `path`
    /// exists. The returned connection, while open, keeps the new file's WAL (and its header)
    /// as it is: closed, it would checkpoint and delete the WAL, and the next writer would
    /// create it again with two fsyncs (the WAL header and the directory).
    pub fn create_unsynced(path: impl AsRef<Path>) -> Result<Option<FreshFile>, SqliteOpenError> {
        let path = path.as_ref();
        if path.exists() {
            return Ok(None);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SqliteOpenError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let mut conn = pool::connect(path)?;
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(|source| SqliteOpenError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        schema::refuse_newer_file(&conn, path)?;
        enable_wal(&conn, path)?;
        schema::migrate(&mut conn, path)?;
        Ok(Some(FreshFile(conn)))
    }

    /// Opens `<data_dir>/teraslice.sqlite`.
    pub fn open_in_data_dir(data_dir: impl AsRef<Path>) -> Result<Self, SqliteOpenError> {
        Self::open(Self::path_in_data_dir(data_dir))
    }

    /// `<data_dir>/teraslice.sqlite`.
    pub fn path_in_data_dir(data_dir: impl AsRef<Path>) -> PathBuf {
        data_dir.as_ref().join(SQLITE_FILE_NAME)
    }

    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// Runs `op` on a pooled connection on a blocking thread.
    async fn run<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self.pool.acquire().await?;
        let pool = self.pool.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.take()?;
            let out = op(&mut conn);
            pool.give_back(conn);
            out
        })
        .await;
        joined
            .map_err(|e| StoreError::Unavailable(format!("SQLite state store call failed: {e}")))?
    }
}

/// Retries of a busy open (the busy timeout already waited inside each).
const OPEN_ATTEMPTS: usize = 5;

fn open_once(path: &Path) -> Result<Connection, SqliteOpenError> {
    let mut conn = pool::connect(path)?;
    // WAL first: the migration of a fresh file then commits to the WAL (no fsync with
    // `synchronous=NORMAL`) instead of through a rollback journal.
    schema::refuse_newer_file(&conn, path)?;
    enable_wal(&conn, path)?;
    schema::migrate(&mut conn, path)?;
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// WAL lets readers in other processes run while one process writes. The mode is stored in the
/// file, so this is a no-op after the first open.
fn enable_wal(conn: &Connection, path: &Path) -> Result<(), SqliteOpenError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|source| SqliteOpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "SQLite could not switch the state store to WAL; concurrent processes will block each other more");
    }
    Ok(())
}
