//! The SQLite file itself: where it is created, what it holds, how its schema version is handled.
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{SliceQuery, SliceState, StateStore, StoreError};
use teraslice_core::testing::store::fixtures;
use teraslice_core::ExecutionStatus;
use teraslice_storage::sqlite::SCHEMA_VERSION;
use teraslice_storage::{open_store, SqliteOpenError, SqliteStore, StoreKind};

fn raw(path: &Path) -> Connection {
    Connection::open(path).expect("open the file directly")
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("user_version")
}

#[tokio::test]
async fn open_creates_the_data_directory_and_a_wal_file_at_the_current_schema() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data_dir = tmp.path().join("teraslice-data/nested");
    let store = SqliteStore::open_in_data_dir(&data_dir).expect("open");
    let path = data_dir.join("teraslice.sqlite");
    assert_eq!(store.path(), path);
    assert!(path.is_file());
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal", "other processes read while one writes");
}

#[tokio::test]
async fn reopening_a_file_keeps_its_data() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    let job = fixtures::job("job-1", fixtures::at(0));
    let ex = fixtures::execution("job-1", ExecutionStatus::Running, fixtures::at(1));
    let slices: Vec<_> = (0..50)
        .map(|n| fixtures::slice(&ex.ex_id, n, SliceState::Completed))
        .collect();
    {
        let store = SqliteStore::open(&path).expect("open");
        store.create_job(&job).await.expect("create job");
        store.create_execution(&ex).await.expect("create ex");
        store.write_slice_states(&slices).await.expect("slices");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get_job("job-1").await.expect("job"), job);
    assert_eq!(store.get_execution(&ex.ex_id).await.expect("ex"), ex);
    let listed = store.list_slice_states(&SliceQuery::all(&ex.ex_id)).await;
    assert_eq!(listed.expect("list").len(), slices.len());
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

#[tokio::test]
async fn a_version_0_file_is_migrated_on_open() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    // An SQLite file nobody gave our schema: user_version 0, an unrelated table.
    raw(&path)
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('kept');")
        .expect("seed");
    assert_eq!(user_version(&path), 0);

    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let job = fixtures::job("job-after-migration", fixtures::at(0));
    store.create_job(&job).await.expect("create job");
    assert_eq!(store.get_job(&job.job_id).await.expect("get"), job);
    let note: String = raw(&path)
        .query_row("SELECT text FROM notes", [], |row| row.get(0))
        .expect("unrelated data kept");
    assert_eq!(note, "kept");
}

#[test]
fn a_file_from_a_newer_schema_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    let newer = SCHEMA_VERSION + 5;
    raw(&path)
        .pragma_update(None, "user_version", newer)
        .expect("seed");

    let err = SqliteStore::open(&path).expect_err("newer schema must be refused");
    assert!(
        matches!(&err, SqliteOpenError::NewerSchema { found, supported, .. }
            if *found == newer && *supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("schema version {newer}")),
        "{message}"
    );
    assert!(
        message.contains("teraslice.data_dir"),
        "says what to do: {message}"
    );
    assert_eq!(user_version(&path), newer, "the file is not touched");
    assert!(
        matches!(StoreError::from(err), StoreError::Data(_)),
        "a newer file is a data problem, not worth retrying"
    );
}

#[test]
fn a_data_dir_that_cannot_be_created_names_the_directory() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let blocker = tmp.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").expect("seed");
    let err = SqliteStore::open_in_data_dir(blocker.join("data")).expect_err("cannot mkdir");
    assert!(matches!(err, SqliteOpenError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[tokio::test]
async fn stored_documents_are_teraslice_json_with_teraslice_field_names() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    let ex = fixtures::execution("job-7", ExecutionStatus::Running, fixtures::at(0));
    store.create_execution(&ex).await.expect("create");
    store
        .set_execution_status(
            &ex.ex_id,
            ExecutionStatus::Failed,
            &StatusUpdate::failed("boom"),
        )
        .await
        .expect("fail it");
    store
        .write_slice_states(&[fixtures::slice(&ex.ex_id, 1, SliceState::Error)])
        .await
        .expect("slice");

    let conn = raw(&path);
    let (status, doc): (String, String) = conn
        .query_row(
            "SELECT status, doc FROM executions WHERE ex_id = ?1",
            [&ex.ex_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("row");
    assert_eq!(status, "failed", "the indexed column follows the document");
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("JSON text");
    assert_eq!(doc["_status"], "failed");
    assert_eq!(doc["_failureReason"], "boom");
    assert_eq!(doc["_has_errors"], true);
    assert_eq!(doc["_context"], "ex");
    assert_eq!(doc["ex_id"], ex.ex_id.as_str());
    assert_eq!(doc["job_id"], "job-7");
    assert_eq!(doc["_created"], "2024-05-17T10:00:00.123Z");
    assert!(doc["_slicer_stats"].is_object() && doc["metadata"].is_object());
    assert!(
        doc["operations"].is_array(),
        "job fields sit at the top level"
    );

    let slice: String = conn
        .query_row("SELECT doc FROM slice_states", [], |row| row.get(0))
        .expect("slice row");
    let slice: serde_json::Value = serde_json::from_str(&slice).expect("JSON text");
    assert_eq!(slice["state"], "error");
    assert_eq!(slice["ex_id"], ex.ex_id.as_str());
    assert!(
        slice["request"].is_string(),
        "request stays a JSON string, as in Teraslice"
    );
    assert!(slice["_created"].is_string() && slice["_updated"].is_string());
}

#[tokio::test]
async fn a_corrupt_stored_document_is_a_data_error_naming_the_record() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    store
        .create_job(&fixtures::job("job-bad", fixtures::at(0)))
        .await
        .expect("create");
    raw(&path)
        .execute(
            "UPDATE jobs SET doc = '{\"job_id\": 5' WHERE job_id = 'job-bad'",
            [],
        )
        .expect("corrupt it");
    let err = store.get_job("job-bad").await.expect_err("corrupt");
    assert!(
        matches!(&err, StoreError::Data(m) if m.contains("job job-bad")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_another_writer_instead_of_failing_busy() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("teraslice.sqlite");
    let store = SqliteStore::open(&path).expect("open");
    let ex = fixtures::execution("job-1", ExecutionStatus::Running, fixtures::at(0));
    store.create_execution(&ex).await.expect("create");

    // Another process's long write transaction, released from a separate thread.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder_path = path.clone();
    let holder = std::thread::spawn(move || {
        let conn = raw(&holder_path);
        conn.execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");
        locked_tx.send(()).expect("signal");
        let _ = release_rx.recv();
        conn.execute_batch("COMMIT").expect("release");
    });
    locked_rx.recv().expect("lock taken");

    let writer = {
        let store = store.clone();
        let ex_id = ex.ex_id.clone();
        tokio::spawn(async move {
            store
                .set_execution_status(&ex_id, ExecutionStatus::Completed, &StatusUpdate::default())
                .await
        })
    };
    // Give the writer a moment to block on the lock; the assertion below does not depend on it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    release_tx.send(()).expect("release");
    holder.join().expect("holder thread");
    let result = writer.await.expect("writer task");
    assert_eq!(result.map(|e| e.status), Ok(ExecutionStatus::Completed));
}

#[tokio::test]
async fn open_store_opens_each_kind() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("data/teraslice.sqlite");
    for kind in [StoreKind::Memory, StoreKind::Sqlite(path.clone())] {
        let store = open_store(kind.clone()).await.expect("open_store");
        let job = fixtures::job("job-1", fixtures::at(0));
        store.create_job(&job).await.expect("create");
        assert_eq!(store.get_job("job-1").await.expect("get"), job, "{kind:?}");
    }
    assert!(path.is_file());

    let newer = tmp.path().join("newer.sqlite");
    raw(&newer)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("seed");
    let err = open_store(StoreKind::Sqlite(newer)).await.err();
    assert!(matches!(err, Some(StoreError::Data(_))), "{err:?}");
}

#[tokio::test]
async fn a_file_created_unsynced_keeps_its_wal_while_held_and_its_writes_after() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("data/teraslice.sqlite");
    let wal = tmp.path().join("data/teraslice.sqlite-wal");
    let fresh = SqliteStore::create_unsynced(&path).expect("create");
    assert!(fresh.is_some(), "a new file gives its creating connection");
    // Held open, the connection keeps the WAL (closed, it would checkpoint and delete it, and
    // the next writer would create it again with fsyncs).
    assert!(
        wal.is_file(),
        "the WAL of the new file is kept while the connection is held"
    );
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let job = fixtures::job("job-1", fixtures::at(0));
    {
        let store = SqliteStore::open(&path).expect("open beside the held connection");
        store.create_job(&job).await.expect("create job");
    }
    drop(fresh);
    let again = SqliteStore::create_unsynced(&path).expect("create on an existing file");
    assert!(again.is_none(), "an existing file is left alone");
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get_job("job-1").await.expect("job"), job);
}
