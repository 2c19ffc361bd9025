//! `teraslice run` of an endless job: Ctrl-C (SIGINT) stops the execution, prints the summary,
//! exits non-zero, and leaves no process behind.
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::native::{count_slices, processes_in, store_in, text, wait_for, write_config, BIN};
use serde_json::json;
use teraslice_core::store::{ExecutionQuery, SliceState};
use teraslice_core::StateStore;

#[tokio::test]
async fn ctrl_c_stops_a_persistent_run_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), "");
    let job = json!({
        "name": "forever", "lifecycle": "persistent", "workers": 2,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 100},
            {"_op": "noop"}
        ]
    });
    std::fs::write(dir.path().join("job.json"), job.to_string()).expect("write job.json");
    let child = Command::new(BIN)
        .args(["run", "job.json", "--quiet", "-c"])
        .arg(&config)
        .current_dir(dir.path())
        .env("TERASLICE_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn teraslice run");

    let store_file = dir.path().join("data/teraslice.sqlite");
    wait_for("slices completing", || async {
        if !store_file.exists() {
            return false;
        }
        let store = store_in(dir.path());
        let Ok(exs) = store.list_executions(&ExecutionQuery::default()).await else {
            return false;
        };
        match exs.first() {
            Some(ex) => count_slices(&store, &ex.ex_id, SliceState::Completed).await >= 2,
            None => false,
        }
    })
    .await;

    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "SIGINT to teraslice run");
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("poll teraslice run").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("teraslice run ignored Ctrl-C");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().expect("teraslice run exits");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "a stopped run is not a completed one"
    );
    assert!(stdout.contains("forever: stopped"), "summary: {stdout}");
    assert!(stderr.contains("ended stopped"), "{stderr}");
    assert_eq!(
        processes_in(dir.path()),
        Vec::<u32>::new(),
        "no process left running"
    );
}
