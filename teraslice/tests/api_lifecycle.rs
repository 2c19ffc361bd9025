//! Master shutdown and restart: SIGTERM ends running executions on a backend whose processes die
//! with the master, leaves queued ones for the next master, and the next master picks them up.
mod api_support;

use api_support::{job, TestMaster};
use reqwest::StatusCode;

/// One simulated node with room for exactly one execution (controller + one worker).
const ONE_EXECUTION: &str = "  mock:\n    nodes: 1\n    slots_per_node: 2\n";

#[tokio::test]
async fn sigterm_terminates_running_executions_and_restart_runs_the_queued_ones() {
    let m = TestMaster::start(ONE_EXECUTION).await;
    let (running_job, running) = m.running_job("first").await;
    let (_, queued) = m.submit(&job("second")).await;
    assert_eq!(
        m.status_of(&queued).await,
        "pending",
        "no room for a second execution"
    );
    // The allocator records its reason once it has looked at the new execution.
    let mut waiting = serde_json::Value::Null;
    for _ in 0..200 {
        waiting = m.get(&format!("/ex/{queued}")).await.1;
        if waiting.get("_pending_reason").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reason = waiting["_pending_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("slots free"),
        "says why it waits: {waiting}"
    );

    let m = m.restart();
    let (status, ex) = m.get(&format!("/ex/{running}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ex["_status"], "terminated");
    assert!(
        ex["_failureReason"].as_str().unwrap().contains("shut down"),
        "{ex}"
    );
    // The queued execution was kept and the new master schedules it.
    m.wait_status(&queued, "running").await;
    let (status, job) = m.get(&format!("/jobs/{running_job}")).await;
    assert_eq!(status, StatusCode::OK, "jobs survive a restart: {job}");
}

#[tokio::test]
async fn a_stopping_execution_ends_stopped_at_shutdown_and_the_master_exits_cleanly() {
    let mut m = TestMaster::start("").await;
    let (_, ex_id) = m.running_job("stopping").await;
    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_stop?blocking=false"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(m.terminate(), "master exits with status 0 on SIGTERM");
    let store = teraslice_storage::SqliteStore::open(m.dir.path().join("data/teraslice.sqlite"))
        .expect("open the master's SQLite file");
    let ex = teraslice_core::StateStore::get_execution(&store, &ex_id)
        .await
        .expect("execution stored");
    assert_eq!(ex.status, teraslice_core::ExecutionStatus::Stopped);
}
