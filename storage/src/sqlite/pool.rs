//! Connections to one SQLite file, reused across calls; each call runs on a blocking thread.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use teraslice_core::store::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::SqliteOpenError;

/// How long a write waits for another connection's (or process's) write lock before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once per store; SQLite serializes writers anyway, readers run in parallel.
const MAX_CONNECTIONS: usize = 8;

pub(crate) struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

/// Opens one connection with the settings every connection needs.
pub(crate) fn connect(path: &Path) -> Result<Connection, SqliteOpenError> {
    let sqlite = |source| SqliteOpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    // WAL keeps a commit durable across a process crash; NORMAL skips the fsync per commit.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    Ok(conn)
}

impl Pool {
    pub(crate) fn new(path: PathBuf, first: Connection) -> Self {
        Pool {
            path,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) async fn acquire(&self) -> Result<OwnedSemaphorePermit, StoreError> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite state store is closed".into()))
    }

    /// An idle connection, or a new one. Call only while holding a permit.
    pub(crate) fn take(&self) -> Result<Connection, StoreError> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match reused {
            Some(conn) => Ok(conn),
            None => connect(&self.path).map_err(StoreError::from),
        }
    }

    pub(crate) fn give_back(&self, conn: Connection) {
        // A connection left inside a transaction (a panic mid-call) is dropped, which rolls it back.
        // So is one SQLite opened read-only (the file was write-protected at the time): it would
        // stay read-only after the file is writable again; the next call opens a fresh one.
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true);
        if conn.is_autocommit() && !read_only {
            self.idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn chattr(flag: &str, path: &Path) {
        let ok = Command::new("chattr").arg(flag).arg(path).status();
        assert!(
            ok.is_ok_and(|s| s.success()),
            "chattr {flag} {} failed: this test needs root and chattr (e2fsprogs)",
            path.display()
        );
    }

    /// A connection opened while the file was write-protected is read-only for good: the pool
    /// must not keep it, or every write fails after the file is writable again.
    #[test]
    fn a_connection_opened_read_only_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let first = connect(&path).unwrap();
        first.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let pool = Pool::new(path.clone(), first);
        let rw = pool.take().unwrap();
        chattr("+i", &path);
        let ro = connect(&path);
        chattr("-i", &path);
        let ro = ro.unwrap();
        assert!(ro.is_readonly(rusqlite::MAIN_DB).unwrap());
        pool.give_back(ro);
        pool.give_back(rw);
        let idle = pool.idle.lock().unwrap();
        assert_eq!(idle.len(), 1, "only the read-write connection is kept");
        assert!(!idle[0].is_readonly(rusqlite::MAIN_DB).unwrap());
    }
}
