//! Controlling a running native execution through the master's API: stop with a timeout,
//! pause/resume, and adding/removing worker processes.
mod common;

use std::time::Duration;

use common::native::{alive, slices, wait_for, wait_gone, NativeMaster};
use serde_json::{json, Value};
use teraslice_core::store::SliceState;

/// An endless job: slices of 10 records, each held 100 ms by `delay`.
fn endless(out: &std::path::Path, workers: u32) -> Value {
    json!({
        "name": "endless", "lifecycle": "persistent", "workers": workers,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 100},
            {"_op": "file_exporter", "path": out, "file_per_slice": false}
        ]
    })
}

async fn started(m: &NativeMaster, workers: u32) -> String {
    let ex_id = m.submit(&endless(&m.path().join("out"), workers)).await;
    m.wait_workers(&ex_id, workers as usize).await;
    wait_for("slices completing", || async {
        m.completed(&ex_id).await >= 2
    })
    .await;
    ex_id
}

#[tokio::test]
async fn stop_with_a_timeout_drains_in_flight_slices_and_ends_every_process() {
    let m = NativeMaster::start();
    let ex_id = started(&m, 2).await;
    let pids: Vec<u32> = m.processes(&ex_id).await.iter().map(|p| p.1).collect();
    assert_eq!(pids.len(), 3, "controller and two workers");
    let found = m.children();
    assert!(
        pids.iter().all(|p| found.contains(p)),
        "children run in the master's directory"
    );

    let body = m.post(&format!("/ex/{ex_id}/_stop?timeout=20000")).await;
    assert_eq!(
        body["status"], "stopped",
        "a blocking stop answers the end status: {body}"
    );
    assert_eq!(m.status_of(&ex_id).await, "stopped");
    wait_gone(&pids).await;
    assert_eq!(m.children(), Vec::<u32>::new(), "only the master is left");
    let states = slices(&m.store(), &ex_id).await;
    let unfinished: Vec<_> = states
        .iter()
        .filter(|s| s.state == SliceState::Start)
        .collect();
    assert!(
        unfinished.is_empty(),
        "a graceful stop finishes started slices: {unfinished:?}"
    );
}

#[tokio::test]
async fn stop_with_a_timeout_shorter_than_the_slice_ends_the_execution_anyway() {
    let m = NativeMaster::start();
    let spec = json!({
        "name": "stuck", "lifecycle": "persistent", "workers": 1,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 600000},
            {"_op": "noop"}
        ]
    });
    let ex_id = m.submit(&spec).await;
    m.wait_workers(&ex_id, 1).await;
    let pids: Vec<u32> = m.processes(&ex_id).await.iter().map(|p| p.1).collect();

    // Each slice takes ten minutes: the stop must not wait for the one in flight.
    let body = m.post(&format!("/ex/{ex_id}/_stop?timeout=1000")).await;
    let ex = m.execution(&ex_id).await;
    assert_eq!(body["status"], "stopped", "{ex}");
    wait_gone(&pids).await;
    assert_eq!(
        m.children(),
        Vec::<u32>::new(),
        "the slow worker was killed"
    );
}

#[tokio::test]
async fn a_stop_right_after_submit_ends_stopped_whatever_phase_it_caught() {
    let m = NativeMaster::start();
    // From "still queued" to "controller starting up" to "running": each delay catches the
    // execution in another phase; every one must end `stopped` with no process left.
    for delay_ms in [0, 10, 20, 30, 40, 60, 100, 200, 400] {
        let ex_id = m.submit(&endless(&m.path().join("out"), 1)).await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let before = m.status_of(&ex_id).await;
        let body = m.post(&format!("/ex/{ex_id}/_stop?timeout=5000")).await;
        let ex = m.execution(&ex_id).await;
        assert_eq!(
            body["status"], "stopped",
            "stopped while {before} after {delay_ms} ms: {ex}"
        );
        assert_eq!(ex["_status"], "stopped", "{ex}");
        wait_for("no process of the stopped execution", || async {
            m.processes(&ex_id).await.is_empty()
        })
        .await;
    }
    wait_for("only the master is left", || async {
        m.children().is_empty()
    })
    .await;
}

/// Polls the completed count until it stops moving across one second (in-flight slices done).
async fn settled_count(m: &NativeMaster, ex_id: &str) -> u64 {
    let mut last = m.completed(ex_id).await;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = m.completed(ex_id).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("slices kept completing while {ex_id} was paused");
}

#[tokio::test]
async fn a_paused_execution_processes_no_slice_until_resumed() {
    let m = NativeMaster::start();
    let ex_id = started(&m, 2).await;

    m.post(&format!("/ex/{ex_id}/_pause")).await;
    m.wait_status(&ex_id, "paused").await;
    let paused_at = settled_count(&m, &ex_id).await;
    // Twenty slice durations for two workers: a running execution would complete dozens.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        m.completed(&ex_id).await,
        paused_at,
        "no slice completes while paused"
    );
    let workers = m.pids(&ex_id, "worker").await;
    assert!(
        workers.iter().all(|&p| alive(p)),
        "pausing keeps the workers"
    );

    m.post(&format!("/ex/{ex_id}/_resume")).await;
    m.wait_status(&ex_id, "running").await;
    wait_for("slices completing again after resume", || async {
        m.completed(&ex_id).await > paused_at
    })
    .await;
}

#[tokio::test]
async fn workers_added_and_removed_while_running_show_in_the_cluster_state() {
    let m = NativeMaster::start();
    let ex_id = started(&m, 2).await;
    let workers = |q: &str| format!("/ex/{ex_id}/_workers?{q}");

    let body = m.post(&workers("add=2")).await;
    // Teraslice's native answer: the request is queued for the backend.
    let want = format!("2 workers have been enqueued for execution: {ex_id}");
    assert_eq!(body["message"], want.as_str(), "{body}");
    m.wait_workers(&ex_id, 4).await;
    // The new processes connect and take slices.
    let before = m.completed(&ex_id).await;
    wait_for("slices completing with four workers", || async {
        m.completed(&ex_id).await >= before + 8
    })
    .await;

    let original = m.pids(&ex_id, "worker").await;
    m.post(&workers("remove=1")).await;
    m.wait_workers(&ex_id, 3).await;
    let removed: Vec<u32> = {
        let now = m.pids(&ex_id, "worker").await;
        original.into_iter().filter(|p| !now.contains(p)).collect()
    };
    assert_eq!(
        removed.len(),
        1,
        "one worker process left the cluster state"
    );
    wait_gone(&removed).await;

    m.post(&workers("total=1")).await;
    m.wait_workers(&ex_id, 1).await;
    assert_eq!(
        m.status_of(&ex_id).await,
        "running",
        "scaling does not end the execution"
    );
}
