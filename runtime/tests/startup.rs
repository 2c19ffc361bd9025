//! EC start-up: the worker watchdog, the HTTP surface, bad start states.
mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::StateStore;
use teraslice_core::ExecutionStatus;
use teraslice_runtime::OpRegistry;

#[tokio::test]
async fn no_worker_within_slicer_timeout_fails_the_execution() {
    let t = teraslice_runtime::RuntimeTimeouts {
        slicer_timeout: Duration::from_millis(300),
        ..timeouts()
    };
    let h = Harness::start(job(json!({})), OpRegistry::with_builtins(), t).await;
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let reason = outcome.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("No workers have connected to slicer in the allotted time: 300 ms"),
        "{reason}"
    );
    let ex = store.get_execution(&ex_id).await.ok();
    assert_eq!(ex.map(|e| e.status), Some(ExecutionStatus::Failed));
}

#[tokio::test]
async fn health_analytics_and_unknown_routes() {
    let h = Harness::start(job(json!({})), OpRegistry::with_builtins(), timeouts()).await;
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    wait_until("EC ready", || async {
        h.http("GET", "/health").await.0 == 200
    })
    .await;
    let (code, body) = h.http("GET", "/api/v1/analytics").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["ex_id"], json!(ex_id));
    assert_eq!(v["stats"]["slicers"], json!(1));
    assert_eq!(h.http("GET", "/nope").await.0, 501);
    assert_eq!(
        store.get_execution(&ex_id).await.ok().map(|e| e.status),
        Some(ExecutionStatus::Running)
    );
    let (code, _) = h.http("POST", "/api/v1/stop").await;
    assert_eq!(code, 202);
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Terminated);
}

#[tokio::test]
async fn an_execution_in_a_terminal_status_does_not_start() {
    let store = std::sync::Arc::new(teraslice_core::store::MemoryStore::new());
    let ex = teraslice_core::ExecutionRecord::new("job-1", job(json!({})));
    let created = store.create_execution(&ex).await;
    assert!(created.is_ok());
    let failed = store
        .set_execution_status(
            &ex.ex_id,
            ExecutionStatus::Failed,
            &StatusUpdate::failed("x"),
        )
        .await;
    assert!(failed.is_ok());
    let opts = teraslice_runtime::ControllerOptions {
        bind_host: "127.0.0.1".into(),
        ..Default::default()
    };
    let err = match teraslice_runtime::ExecutionController::new(ex, store, opts).await {
        Ok(ec) => ec.run().await.err(),
        Err(e) => Some(e),
    };
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("was starting in failed status"), "{msg}");
}

/// An execution already `running` (its EC pod restarted), with relocation allowed.
async fn restart_running(relocatable: bool) -> (Harness, common::ops::Counter) {
    let store = std::sync::Arc::new(teraslice_core::store::MemoryStore::new());
    let ex = teraslice_core::ExecutionRecord::new(
        "job-1",
        job(json!({"operations": [{"_op": "counter"}, {"_op": "noop"}]})),
    );
    assert!(store.create_execution(&ex).await.is_ok());
    for s in [ExecutionStatus::Initializing, ExecutionStatus::Running] {
        assert!(store
            .set_execution_status(&ex.ex_id, s, &StatusUpdate::default())
            .await
            .is_ok());
    }
    let counter = common::ops::Counter {
        relocatable,
        ..common::ops::Counter::new(3)
    };
    let mut registry = OpRegistry::with_builtins();
    registry.register_reader("counter", counter.clone());
    let h = Harness::start_with_options(store, ex, registry, timeouts(), true).await;
    (h, counter)
}

#[tokio::test]
async fn a_restarted_ec_takes_over_a_running_execution_when_the_slicer_is_relocatable() {
    let (h, _) = restart_running(true).await;
    let _w = h.workers(1);
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(outcome.stats.processed, 3);
}

#[tokio::test]
async fn a_restarted_ec_leaves_a_running_execution_alone_when_the_slicer_is_not_relocatable() {
    let (h, _) = restart_running(false).await;
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let err = match h.ec_task.await {
        Ok(r) => r.err().map(|e| e.to_string()).unwrap_or_default(),
        Err(e) => panic!("EC task: {e}"),
    };
    assert!(
        err.contains("is already running and its slicer is not relocatable"),
        "{err}"
    );
    let status = store.get_execution(&ex_id).await.ok().map(|e| e.status);
    assert_eq!(status, Some(ExecutionStatus::Running), "status untouched");
}

/// An op whose worker-side construction fails, as an op that cannot reach its service does.
struct Unbuildable;

impl teraslice_runtime::ops::ProcessorFactory for Unbuildable {
    fn processor(
        &self,
        _ctx: &teraslice_runtime::ops::OpContext,
    ) -> Result<Box<dyn teraslice_runtime::ops::BatchProcessor>, teraslice_runtime::ops::OpError>
    {
        Err(teraslice_runtime::ops::OpError::new(
            "connector `default`: cannot reach 127.0.0.1:9",
        ))
    }
}

/// Runs a job of `workers` workers with one op that cannot start; starts only `started` of them.
async fn unbuildable_job(workers: u32, started: usize) -> String {
    let t = teraslice_runtime::RuntimeTimeouts {
        slicer_timeout: Duration::from_millis(1500),
        ..timeouts()
    };
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("unbuildable", Unbuildable);
    let job = job(json!({"workers": workers,
        "operations": [{"_op": "test-reader"}, {"_op": "unbuildable"}]}));
    let h = Harness::start(job, registry, t).await;
    for i in 0..started {
        let (_, worker) = h.worker(&format!("worker-{i}"));
        let worker_error = match worker.await.ok() {
            Some(Err(e)) => e.to_string(),
            other => panic!("the worker should fail to start, got {other:?}"),
        };
        assert!(
            worker_error.contains("cannot reach 127.0.0.1:9"),
            "{worker_error}"
        );
    }
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    outcome.failure_reason.unwrap_or_default()
}

#[tokio::test]
async fn when_every_worker_fails_to_start_the_execution_fails_with_their_error() {
    let reason = unbuildable_job(2, 2).await;
    assert!(
        reason.starts_with("Every worker failed to start (2 of 2)"),
        "{reason}"
    );
    assert!(
        reason.contains("the last worker to fail said: worker worker-1:")
            && reason.contains("cannot reach 127.0.0.1:9"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_worker_that_cannot_start_is_named_in_the_timeout_reason() {
    // One of two workers failed; the other never came: the slicer_timeout decides.
    let reason = unbuildable_job(2, 1).await;
    assert!(
        reason.starts_with("No workers have connected to slicer in the allotted time: 1500 ms"),
        "{reason}"
    );
    assert!(
        reason.contains("; the last worker to fail said: worker worker-0:")
            && reason.contains("cannot reach 127.0.0.1:9"),
        "{reason}"
    );
}
