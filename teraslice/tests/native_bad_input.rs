//! Bad input to `teraslice run` and to a native master: a clear error naming what is wrong,
//! a non-zero exit, nothing stored or started, and no process left behind.
mod common;

use common::native::{processes_in, run_in, run_job, store_in, text, NativeMaster};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use teraslice_core::store::{ExecutionQuery, ListQuery};
use teraslice_core::StateStore;

fn job(ops: Value) -> Value {
    json!({"name": "bad", "lifecycle": "once", "workers": 2, "operations": ops})
}

/// Runs `job` and returns stderr, asserting a non-zero exit and no process left in `dir`.
fn run_refused(dir: &std::path::Path, job: &Value) -> String {
    let out = run_job(dir, job);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "exit non-zero; stdout: {}",
        text(&out.stdout)
    );
    assert_eq!(
        processes_in(dir),
        Vec::<u32>::new(),
        "no process left running"
    );
    stderr
}

async fn assert_nothing_stored(dir: &std::path::Path) {
    let store = store_in(dir);
    let jobs = store
        .list_jobs(&ListQuery::default())
        .await
        .expect("list jobs");
    assert!(jobs.is_empty(), "no job stored: {jobs:?}");
    let exs = store
        .list_executions(&ExecutionQuery::default())
        .await
        .expect("list executions");
    assert!(exs.is_empty(), "no execution stored: {exs:?}");
}

#[tokio::test]
async fn an_unknown_op_is_refused_with_the_known_ops_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = job(json!([{"_op": "data_generatr"}, {"_op": "noop"}]));
    let stderr = run_refused(dir.path(), &spec);
    assert!(stderr.contains("data_generatr"), "names the op: {stderr}");
    for known in ["data_generator", "file_reader", "noop"] {
        assert!(stderr.contains(known), "lists {known}: {stderr}");
    }
    assert_nothing_stored(dir.path()).await;
}

#[tokio::test]
async fn a_bad_op_config_names_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = job(json!([{"_op": "data_generator", "size": 0}, {"_op": "noop"}]));
    let stderr = run_refused(dir.path(), &spec);
    assert!(
        stderr.contains("operations[0].size"),
        "names the field: {stderr}"
    );
    assert_nothing_stored(dir.path()).await;
}

#[tokio::test]
async fn an_unreadable_input_file_fails_the_run_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-input.ldjson");
    let spec = job(json!([
        {"_op": "file_reader", "path": missing, "file_per_slice": false},
        {"_op": "noop"}
    ]));
    let stderr = run_refused(dir.path(), &spec);
    let path = missing.display().to_string();
    assert!(stderr.contains(&path), "names {path}: {stderr}");
    assert!(stderr.contains("ended failed"), "{stderr}");
}

#[test]
fn a_job_file_that_is_not_json_and_a_bad_config_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("broken.json"), "{\"name\": ").expect("write job");
    let out = run_in(dir.path(), &["run".as_ref(), "broken.json".as_ref()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.json is not valid JSON"), "{stderr}");

    std::fs::write(
        dir.path().join("job.json"),
        job(json!([{"_op": "noop"}])).to_string(),
    )
    .expect("write job");
    let yaml = "teraslice:\n  cluster_manager_type: nope\n";
    std::fs::write(dir.path().join("bad.yaml"), yaml).expect("write config");
    let args = ["run", "job.json", "-c", "bad.yaml"].map(std::ffi::OsStr::new);
    let out = run_in(dir.path(), &args);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cluster_manager_type") && stderr.contains("native"),
        "names the key and the valid types: {stderr}"
    );
    assert_eq!(
        processes_in(dir.path()),
        Vec::<u32>::new(),
        "no process left running"
    );
}

#[tokio::test]
async fn the_master_refuses_an_unknown_op_and_starts_nothing() {
    let m = NativeMaster::start();
    let spec = job(json!([{"_op": "nope"}, {"_op": "noop"}]));
    let (status, body) = m.call(Method::POST, "/jobs", Some(&spec)).await;
    assert!(status.is_client_error(), "{status}: {body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("nope") && msg.contains("data_generator"),
        "{body}"
    );

    let jobs = m.get("/jobs").await;
    assert_eq!(jobs, json!([]), "nothing stored");
    let (status, _) = m.call(Method::GET, "/ex", None).await;
    assert_eq!(status, StatusCode::OK);
    let state = m.get("/cluster/state").await;
    let active: usize = state
        .as_object()
        .expect("nodes")
        .values()
        .flat_map(|n| n["active"].as_array().cloned().unwrap_or_default())
        .filter(|p| p.get("ex_id").is_some())
        .count();
    assert_eq!(active, 0, "no execution process started: {state}");
}
