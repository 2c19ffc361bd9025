//! Several processes share one SQLite file, as the master, execution controller and workers do:
//! this test re-runs its own binary as child processes that write slice states, update metadata
//! and race to finish the same execution.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{
    ListQuery, SliceQuery, SliceState, SliceStateRecord, StateStore, StoreError,
};
use teraslice_core::testing::store::fixtures;
use teraslice_core::ExecutionStatus::{self, *};
use teraslice_storage::SqliteStore;

const CHILD_ENV: &str = "TERASLICE_STORAGE_TEST_CHILD";
const DIR_ENV: &str = "TERASLICE_STORAGE_TEST_DIR";
const EX_ENV: &str = "TERASLICE_STORAGE_TEST_EX_ID";
/// One distinct terminal status per child: once one is stored, every other is refused.
const TARGETS: [ExecutionStatus; 4] = [Completed, Failed, Terminated, Rejected];
const SLICES_PER_CHILD: u64 = 2_000;
const BATCH: usize = 100;

fn child_slices(ex_id: &str, child: usize) -> Vec<SliceStateRecord> {
    (0..SLICES_PER_CHILD)
        .map(|n| {
            let mut r = fixtures::slice(ex_id, n, SliceState::Pending);
            r.slice_id = format!("child{child}-{n:05}");
            r.slicer_id = child as u32;
            r
        })
        .collect()
}

/// Waits for `file` to appear; a guard against a hung sibling, not a timing check.
fn wait_for_file(file: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// In place of an ex_id: the children open a file that does not exist yet, all at once.
const FRESH_FILE: &str = "fresh-file";

async fn open_fresh_file(child: usize, dir: &Path) {
    std::fs::write(dir.join(format!("ready-{child}")), b"").expect("ready file");
    wait_for_file(&dir.join("go"));
    let store = SqliteStore::open(dir.join("new/teraslice.sqlite")).expect("open a fresh file");
    let job = fixtures::job(&format!("job-child-{child}"), fixtures::at(child as i64));
    store.create_job(&job).await.expect("create job");
}

/// Starts one child per target, releases them together and returns their outputs.
fn run_children(dir: &Path, ex_id: &str) -> Vec<Output> {
    let children: Vec<_> = (0..TARGETS.len())
        .map(|i| spawn_child(i, dir, ex_id))
        .collect();
    for i in 0..TARGETS.len() {
        wait_for_file(&dir.join(format!("ready-{i}")));
    }
    std::fs::write(dir.join("go"), b"").expect("go file");
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for child"))
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        check_exit(i, out);
    }
    outputs
}

/// The child process's work (runs only when re-executed by the parent test).
#[test]
#[ignore = "child process of sqlite_processes_share_one_file_without_lost_writes"]
fn sqlite_store_child_process() {
    let Ok(child) = std::env::var(CHILD_ENV) else {
        return;
    };
    let child: usize = child.parse().expect("child index");
    let dir = PathBuf::from(std::env::var(DIR_ENV).expect("dir"));
    let ex_id = std::env::var(EX_ENV).expect("ex id");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if ex_id == FRESH_FILE {
        return rt.block_on(open_fresh_file(child, &dir));
    }
    rt.block_on(async move {
        let store = SqliteStore::open(dir.join("teraslice.sqlite")).expect("child opens the store");
        std::fs::write(dir.join(format!("ready-{child}")), b"").expect("ready file");
        wait_for_file(&dir.join("go"));

        let update = StatusUpdate::failed(format!("child {child}"));
        let outcome = match store
            .set_execution_status(&ex_id, TARGETS[child], &update)
            .await
        {
            Ok(_) => "won".to_string(),
            Err(StoreError::Transition { source, .. }) => format!("lost to {}", source.from),
            Err(e) => panic!("child {child}: unexpected status error: {e}"),
        };
        std::fs::write(dir.join(format!("result-{child}")), outcome).expect("result file");

        let records = child_slices(&ex_id, child);
        for (i, batch) in records.chunks(BATCH).enumerate() {
            store.write_slice_states(batch).await.expect("bulk write");
            let mut meta = serde_json::Map::new();
            meta.insert(format!("child_{child}"), serde_json::json!(i));
            store
                .update_execution_metadata(&ex_id, &meta)
                .await
                .expect("metadata write");
        }
        // Workers report one slice at a time: many small transactions contending for the lock.
        for r in records.iter().step_by(2) {
            let mut done = r.clone();
            done.state = SliceState::Completed;
            store
                .write_slice_states(&[done])
                .await
                .expect("single write");
        }
    });
}

fn spawn_child(child: usize, dir: &Path, ex_id: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", "sqlite_store_child_process", "--ignored"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, child.to_string())
        .env(DIR_ENV, dir)
        .env(EX_ENV, ex_id)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn child test process")
}

fn check_exit(child: usize, out: &Output) {
    assert!(
        out.status.success(),
        "child {child} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_processes_share_one_file_without_lost_writes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let store = SqliteStore::open(dir.join("teraslice.sqlite")).expect("open");
    let ex = fixtures::execution("job-shared", Running, fixtures::at(0));
    store.create_execution(&ex).await.expect("create");

    run_children(&dir, &ex.ex_id);

    let outcomes: Vec<String> = (0..TARGETS.len())
        .map(|i| std::fs::read_to_string(dir.join(format!("result-{i}"))).expect("result"))
        .collect();
    let winners: Vec<usize> = (0..TARGETS.len())
        .filter(|&i| outcomes[i] == "won")
        .collect();
    assert_eq!(winners.len(), 1, "exactly one process wins: {outcomes:?}");
    let winner = winners[0];
    let stored = store.get_execution(&ex.ex_id).await.expect("get");
    assert_eq!(stored.status, TARGETS[winner], "{outcomes:?}");
    assert_eq!(stored.failure_reason, format!("child {winner}"));
    for (i, outcome) in outcomes.iter().enumerate() {
        if i != winner {
            assert_eq!(outcome, &format!("lost to {}", TARGETS[winner]));
        }
    }
    assert_eq!(
        stored.metadata.len(),
        1,
        "metadata is replaced by the last writer"
    );

    let total = store
        .count_slice_states(&ex.ex_id, None)
        .await
        .expect("count");
    let completed = store
        .count_slice_states(&ex.ex_id, Some(SliceState::Completed))
        .await
        .expect("count");
    let n = TARGETS.len() as u64 * SLICES_PER_CHILD;
    assert_eq!((total, completed), (n, n / 2), "no write is lost");
    let listed = store
        .list_slice_states(&SliceQuery::all(&ex.ex_id))
        .await
        .expect("list");
    for child in 0..TARGETS.len() {
        let mine: Vec<_> = listed
            .iter()
            .filter(|r| r.slicer_id == child as u32)
            .collect();
        let want = child_slices(&ex.ex_id, child);
        assert_eq!(mine.len(), want.len(), "child {child}");
        for (got, want) in mine.iter().zip(&want) {
            assert_eq!(got.slice_id, want.slice_id);
            let completed = want.slicer_order % 2 == 0;
            assert_eq!(
                got.state == SliceState::Completed,
                completed,
                "{}",
                got.slice_id
            );
        }
    }
}

#[tokio::test]
async fn sqlite_processes_opening_a_new_file_at_once_create_it_once() {
    let tmp = tempfile::tempdir().expect("temp dir");
    run_children(tmp.path(), FRESH_FILE);
    let store = SqliteStore::open(tmp.path().join("new/teraslice.sqlite")).expect("open");
    let jobs = store
        .list_jobs(&ListQuery::default())
        .await
        .expect("list jobs");
    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["job-child-3", "job-child-2", "job-child-1", "job-child-0"],
        "every process's job is in the one file"
    );
}
