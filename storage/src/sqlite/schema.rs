//! The schema, versioned with `PRAGMA user_version` and migrated forward when a file is opened.
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::error::SqliteOpenError;

/// `MIGRATIONS[i]` takes a file from version `i` to `i + 1`. Append only; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: documents as JSON text, with indexed columns for the fields queries filter and sort on.
    "CREATE TABLE jobs (
        job_id  TEXT PRIMARY KEY NOT NULL,
        created TEXT NOT NULL,
        doc     TEXT NOT NULL
    );
    CREATE INDEX jobs_by_created ON jobs (created, job_id);

    CREATE TABLE executions (
        ex_id   TEXT PRIMARY KEY NOT NULL,
        job_id  TEXT NOT NULL,
        status  TEXT NOT NULL,
        created TEXT NOT NULL,
        doc     TEXT NOT NULL
    );
    CREATE INDEX executions_by_created ON executions (created, ex_id);
    CREATE INDEX executions_by_job ON executions (job_id, created, ex_id);
    CREATE INDEX executions_by_status ON executions (status, created, ex_id);

    CREATE TABLE slice_states (
        slice_id     TEXT PRIMARY KEY NOT NULL,
        ex_id        TEXT NOT NULL,
        state        TEXT NOT NULL,
        slicer_id    INTEGER NOT NULL,
        slicer_order INTEGER NOT NULL,
        doc          TEXT NOT NULL
    );
    CREATE INDEX slice_states_by_order ON slice_states (ex_id, slicer_id, slicer_order);
    CREATE INDEX slice_states_by_state ON slice_states (ex_id, state, slicer_id, slicer_order);

    CREATE TABLE analytics (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        ex_id TEXT NOT NULL,
        doc   TEXT NOT NULL
    );
    CREATE INDEX analytics_by_ex ON analytics (ex_id, seq);",
    // 1 -> 2: slice listings order by (slicer_id, slicer_order, slice_id); with slice_id in the
    // index a page is read in index order (no sort of every record of the execution), and the
    // rows an OFFSET skips are never loaded.
    "CREATE INDEX slice_states_by_order_id ON slice_states (ex_id, slicer_id, slicer_order, slice_id);
    CREATE INDEX slice_states_by_state_id ON slice_states (ex_id, state, slicer_id, slicer_order, slice_id);
    DROP INDEX slice_states_by_order;
    DROP INDEX slice_states_by_state;",
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

fn refuse_newer(path: &Path, found: i64) -> Result<(), SqliteOpenError> {
    if found > SCHEMA_VERSION {
        return Err(SqliteOpenError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Refuses a file written by a newer build, before anything (even its journal mode) is changed.
pub(crate) fn refuse_newer_file(conn: &Connection, path: &Path) -> Result<(), SqliteOpenError> {
    let found = user_version(conn).map_err(|source| SqliteOpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    })?;
    refuse_newer(path, found)
}

/// Brings the file to [`SCHEMA_VERSION`]; processes opening it at once migrate it exactly once.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), SqliteOpenError> {
    let sqlite = |source| SqliteOpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    // Refuse a newer file before touching it, not even to switch its journal mode.
    let found = user_version(conn).map_err(sqlite)?;
    refuse_newer(path, found)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // IMMEDIATE takes the write lock first, so a concurrent opener waits and then sees our version.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let found = user_version(&tx).map_err(sqlite)?;
    refuse_newer(path, found)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(sql).map_err(sqlite)?;
        tracing::info!(path = %path.display(), from, to = from + 1, "migrated the SQLite state store schema");
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sqlite)?;
    tx.commit().map_err(sqlite)
}
