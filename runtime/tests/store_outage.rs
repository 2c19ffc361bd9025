//! The EC with a store that goes away: an outage within `state_write_retry_timeout` loses no
//! slice state; a store that never returns fails the execution and, when even the final status
//! cannot land, the EC ends with an error that carries the status and the reason.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use teraslice_core::store::{MemoryStore, SliceState, StateStore};
use teraslice_core::testing::{OutageStore, StoreCall};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use teraslice_runtime::controller::ControllerOptions;
use teraslice_runtime::{ExecutionController, OpRegistry, RuntimeError, Worker, WorkerOptions};

struct Run {
    store: Arc<OutageStore>,
    ex_id: String,
    ec: tokio::task::JoinHandle<Result<teraslice_runtime::ExecutionOutcome, RuntimeError>>,
}

/// 40 slices through `delay` on 2 workers; the workers read the store directly (never down).
async fn start(retry_timeout: Duration) -> (Run, tempfile::NamedTempFile) {
    start_with_faults(retry_timeout, &[]).await
}

/// As [`start`], with `faults` injected before the EC runs.
async fn start_with_faults(
    retry_timeout: Duration,
    faults: &[(StoreCall, u32)],
) -> (Run, tempfile::NamedTempFile) {
    let requests: Vec<_> = (0..40).map(|i| json!([{ "n": i }])).collect();
    let file = slicer_file(&requests);
    let job = job(json!({
        "workers": 2,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path(), "passthrough_slice": true},
            {"_op": "delay", "ms": 50}
        ]
    }));
    let store = Arc::new(OutageStore::new());
    for (call, times) in faults {
        store.fail_next(*call, *times);
    }
    let ex = ExecutionRecord::new("job-1", job);
    if let Err(e) = store.create_execution(&ex).await {
        panic!("create execution: {e}");
    }
    let t = teraslice_runtime::RuntimeTimeouts {
        state_write_retry_timeout: retry_timeout,
        ..timeouts()
    };
    let registry = Arc::new(OpRegistry::with_builtins());
    let opts = ControllerOptions {
        registry: registry.clone(),
        timeouts: t.clone(),
        bind_host: "127.0.0.1".into(),
    };
    let ec = match ExecutionController::new(ex.clone(), store.clone(), opts).await {
        Ok(ec) => ec,
        Err(e) => panic!("EC did not start: {e}"),
    };
    let addr = ec.local_addr().to_string();
    let ec = tokio::spawn(ec.run());
    for i in 0..2 {
        let opts = WorkerOptions {
            registry: registry.clone(),
            timeouts: t.clone(),
        };
        let reader: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let w = Worker::new(ex.clone(), reader, &addr, format!("w{i}"), opts);
        tokio::spawn(w.run());
    }
    let run = Run {
        store,
        ex_id: ex.ex_id,
        ec,
    };
    (run, file)
}

async fn completed(store: &OutageStore, ex_id: &str) -> u64 {
    store
        .inner
        .count_slice_states(ex_id, Some(SliceState::Completed))
        .await
        .unwrap_or(0)
}

#[tokio::test]
async fn an_outage_within_the_limit_loses_no_slice_state() {
    let (run, _file) = start(Duration::from_secs(60)).await;
    let store = run.store.clone();
    let ex_id = run.ex_id.clone();
    wait_until("a few slices completed", || async {
        completed(&store, &ex_id).await >= 3
    })
    .await;
    store.set_down(true);
    let before = completed(&store, &ex_id).await;
    assert!(before < 40, "the outage came after the job ended");
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.set_down(false);
    let outcome = match run.ec.await {
        Ok(Ok(o)) => o,
        other => panic!("EC did not end normally: {other:?}"),
    };
    assert_eq!(
        outcome.status,
        ExecutionStatus::Completed,
        "{:?}",
        outcome.failure_reason
    );
    assert_eq!(completed(&store, &ex_id).await, 40);
    let stored = store.inner.get_execution(&ex_id).await.map(|e| e.status);
    assert_eq!(stored.ok(), Some(ExecutionStatus::Completed));
}

#[tokio::test]
async fn a_store_that_never_returns_ends_the_ec_with_the_unwritten_status_and_reason() {
    let (run, _file) = start(Duration::from_millis(500)).await;
    let store = run.store.clone();
    let ex_id = run.ex_id.clone();
    wait_until("a few slices completed", || async {
        completed(&store, &ex_id).await >= 3
    })
    .await;
    store.set_down(true);
    let err = match run.ec.await {
        Ok(Err(e)) => e,
        other => panic!("the EC should end with an error: {other:?}"),
    };
    let RuntimeError::StatusNotWritten { status, reason, .. } = &err else {
        panic!("expected StatusNotWritten, got {err}");
    };
    assert_eq!(*status, ExecutionStatus::Failed);
    assert!(
        reason.contains("teraslice.state.write_retry_timeout"),
        "the reason names the limit: {reason}"
    );
    let stored = store.inner.get_execution(&ex_id).await.map(|e| e.status);
    assert!(
        stored.is_ok_and(|s| !s.is_terminal()),
        "nothing could be written, so the master's exit path decides"
    );
}

#[tokio::test]
async fn a_running_status_the_store_never_takes_fails_the_execution_instead_of_running_on() {
    // Every `running` write is refused as unreachable; everything else lands.
    let faults = [(StoreCall::SetStatus(ExecutionStatus::Running), u32::MAX)];
    let (run, _file) = start_with_faults(Duration::from_millis(300), &faults).await;
    let store = run.store.clone();
    // A guard against a hang, not a timing check: before the fix the EC ran on for good.
    let ended = tokio::time::timeout(Duration::from_secs(120), run.ec).await;
    let outcome = match ended {
        Ok(Ok(Ok(o))) => o,
        Err(_) => panic!("the EC ran on under a status the store never took"),
        other => panic!("EC did not end normally: {other:?}"),
    };
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let reason = outcome.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("`running` could not be written"),
        "the reason names the unwritten status: {reason}"
    );
    assert!(store.injected(StoreCall::SetStatus(ExecutionStatus::Running)) > 0);
    let stored = match store.inner.get_execution(&run.ex_id).await {
        Ok(ex) => ex,
        Err(e) => panic!("read back: {e}"),
    };
    assert_eq!(stored.status, ExecutionStatus::Failed);
    assert_eq!(stored.failure_reason, reason);
}
