//! A worker lost mid-slice: its slice goes to another worker and the job still completes.
mod common;

use std::collections::HashSet;

use common::ops::Gate;
use common::*;
use serde_json::json;
use teraslice_core::store::SliceState;
use teraslice_core::ExecutionStatus;
use teraslice_runtime::OpRegistry;

#[tokio::test]
async fn slice_of_an_aborted_worker_is_redispatched_and_completed_once() {
    let requests: Vec<_> = (0..6).map(|i| json!({ "n": i })).collect();
    let file = slicer_file(&requests);
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({
        "workers": 3,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "gate"}
        ]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let workers: Vec<_> = (0..3)
        .map(|i| (format!("worker-{i}"), h.worker(&format!("worker-{i}")).1))
        .collect();

    wait_until("a slice at the gate", || async {
        !gate.entries().is_empty()
    })
    .await;
    let (victim, lost_slice) = gate.entries()[0].clone();
    let mut survivors = Vec::new();
    for (id, task) in workers {
        if id == victim {
            task.abort();
        } else {
            survivors.push(task);
        }
    }
    wait_until("the EC saw the worker go", || async {
        h.ec.analytics()
            .await
            .is_ok_and(|a| a.stats.workers_disconnected == 1)
    })
    .await;
    gate.open();

    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.completed().await;
    assert_eq!(outcome.stats.processed, 6);
    let records = slices(&store, &ex_id).await;
    assert_eq!(records.len(), 6);
    assert!(
        records.iter().all(|r| r.state == SliceState::Completed),
        "{records:?}"
    );
    assert_eq!(
        records
            .iter()
            .map(|r| &r.slice_id)
            .collect::<HashSet<_>>()
            .len(),
        6
    );

    let runs: Vec<_> = gate
        .entries()
        .into_iter()
        .filter(|(_, s)| *s == lost_slice)
        .collect();
    assert_eq!(runs.len(), 2, "the lost slice ran again: {runs:?}");
    assert_ne!(runs[1].0, victim, "on another worker");
    for w in survivors {
        join_worker(w).await;
    }
}

#[tokio::test]
async fn every_worker_gone_for_worker_disconnect_timeout_fails_the_execution() {
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({"operations": [{"_op": "test-reader"}, {"_op": "gate"}]}));
    let t = teraslice_runtime::RuntimeTimeouts {
        worker_disconnect_timeout: std::time::Duration::from_millis(300),
        ..timeouts()
    };
    let h = Harness::start(job, registry, t).await;
    let (_, worker) = h.worker("only");
    wait_until("a slice at the gate", || async {
        !gate.entries().is_empty()
    })
    .await;
    worker.abort();

    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let reason = outcome.failure_reason.unwrap_or_default();
    assert_eq!(
        reason,
        format!("All workers from {ex_id} have disconnected")
    );
    let records = slices(&store, &ex_id).await;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.state == SliceState::Start)
            .count(),
        0,
        "the lost slice went back to pending"
    );
    assert_eq!(outcome.stats.workers_disconnected, 1);
}
