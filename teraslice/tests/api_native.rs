//! The API on the native backend: executions run as child `teraslice execution-controller` and
//! `worker` processes, and pause, resume and stats reach the controller over HTTP.
mod api_support;

use api_support::{assert_error, TestMaster};
use reqwest::StatusCode;
use serde_json::{json, Value};

const NATIVE: &str = "  workers: 6\n";

/// Generates records forever, slowly, until stopped.
fn endless(name: &str) -> Value {
    json!({
        "name": name,
        "lifecycle": "persistent",
        "workers": 1,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 50},
            {"_op": "noop"}
        ]
    })
}

#[tokio::test]
async fn a_once_job_runs_to_completed() {
    let m = TestMaster::start_native(NATIVE).await;
    let spec = json!({
        "name": "short",
        "workers": 1,
        "operations": [{"_op": "data_generator", "size": 50}, {"_op": "noop"}]
    });
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "completed").await;
    let (_, ex) = m.get(&format!("/jobs/{job_id}/ex")).await;
    assert_eq!(ex["_has_errors"], false, "{ex}");
    // The ended execution's slices count in the cluster stats since this master started.
    let (_, stats) = m.get("/cluster/stats").await;
    let processed = ex["_slicer_stats"]["processed"].as_u64().unwrap_or(0);
    assert!(
        processed > 0,
        "the controller recorded its processed slices: {ex}"
    );
    assert_eq!(stats["controllers"]["processed"], processed, "{stats}");
    assert_eq!(stats["controllers"]["workers_joined"], 1, "{stats}");
}

#[tokio::test]
async fn pause_resume_stats_and_stop_reach_the_controller_process() {
    let m = TestMaster::start_native(NATIVE).await;
    let (job_id, ex_id) = m.submit(&endless("endless")).await;
    m.wait_status(&ex_id, "running").await;

    let (status, body) = m.post(&format!("/jobs/{job_id}/_pause"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "paused"}))
    );
    let (status, body) = m.post(&format!("/ex/{ex_id}/_resume"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "running"}))
    );

    let (status, stats) = m.get(&format!("/ex/{ex_id}/_controller")).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats[0]["ex_id"], ex_id);
    assert!(stats[0].get("workers_active").is_some(), "{stats}");

    let (_, state) = m.get("/cluster/state").await;
    let pids: Vec<_> = state
        .as_object()
        .unwrap()
        .values()
        .flat_map(|n| n["active"].as_array().unwrap().clone())
        .filter(|p| p["ex_id"] == ex_id)
        .map(|p| p["pid"].clone())
        .collect();
    assert!(
        pids.len() >= 2 && pids.iter().all(Value::is_number),
        "{state}"
    );

    let (status, body) = m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "stopped");
    let (status, body) = m.get(&format!("/ex/{ex_id}/_controller")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Could not find active slicer",
    );
}

#[tokio::test]
async fn native_runs_jobs_with_kubernetes_fields_ignoring_them() {
    let m = TestMaster::start_native(NATIVE).await;
    let mut spec = json!({
        "name": "k8s-fields",
        "workers": 1,
        "operations": [{"_op": "data_generator", "size": 20}, {"_op": "noop"}]
    });
    spec["targets"] = json!([{"key": "zone", "value": "west"}]);
    spec["volumes"] = json!([{"name": "data", "path": "/data"}]);
    spec["ephemeral_storage"] = json!(true);
    spec["labels"] = json!({"key 1": "a value", "team": "data"});
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "completed").await;
    let (_, stored) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(
        stored["targets"], spec["targets"],
        "the spec is kept as given"
    );

    let plain = json!({
        "name": "plain",
        "workers": 1,
        "operations": [{"_op": "data_generator", "size": 20}, {"_op": "noop"}]
    });
    let (_, ex_id) = m.submit(&plain).await;
    let (_, ex) = m.get(&format!("/ex/{ex_id}")).await;
    for key in [
        "targets",
        "volumes",
        "ephemeral_storage",
        "pod_spec_override",
    ] {
        assert!(
            ex.get(key).is_none(),
            "no Kubernetes default {key} on native: {ex}"
        );
    }
}
