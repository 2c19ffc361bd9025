//! `once` jobs end to end: every slice completed exactly once; retries and failure.
mod common;

use std::collections::HashSet;

use common::ops::Fail;
use common::*;
use serde_json::json;
use teraslice_core::store::{SliceState, StateStore};
use teraslice_core::ExecutionStatus;
use teraslice_runtime::worker::WorkerExit;
use teraslice_runtime::OpRegistry;

#[tokio::test]
async fn three_workers_complete_every_slice_exactly_once() {
    let requests: Vec<_> = (0..30)
        .map(|i| json!([{ "n": i }, { "n": i + 100 }]))
        .collect();
    let file = slicer_file(&requests);
    let job = job(json!({
        "workers": 3,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path(), "passthrough_slice": true},
            {"_op": "noop"}
        ]
    }));
    let h = Harness::start(job, OpRegistry::with_builtins(), timeouts()).await;
    let workers = h.workers(3);
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.completed().await;
    assert_eq!(outcome.stats.processed, 30);
    assert_eq!(outcome.stats.failed, 0);
    // The fetcher's records of every completed slice: 2 each.
    assert_eq!(outcome.stats.records, 60);
    let records = slices(&store, &ex_id).await;
    assert_eq!(records.len(), 30);
    assert!(
        records.iter().all(|r| r.state == SliceState::Completed),
        "{records:?}"
    );
    let ids: HashSet<_> = records.iter().map(|r| r.slice_id.clone()).collect();
    assert_eq!(ids.len(), 30);
    let orders: HashSet<_> = records.iter().map(|r| r.slicer_order).collect();
    assert_eq!(orders, (1..=30).collect::<HashSet<u64>>());

    let ex = store.get_execution(&ex_id).await.ok();
    assert_eq!(
        ex.as_ref().map(|e| e.status),
        Some(ExecutionStatus::Completed)
    );
    let stats = ex.map(|e| e.slicer_stats).unwrap_or_default();
    assert_eq!(stats.get("processed"), Some(&json!(30)));
    assert_eq!(stats.get("records"), Some(&json!(60)));

    // analytics: one record per op per slice; the fetcher returned the 2 passthrough records
    let analytics = store.list_analytics(&ex_id).await.unwrap_or_default();
    assert_eq!(analytics.len(), 60);
    assert!(analytics
        .iter()
        .filter(|a| a.order == 0)
        .all(|a| a.count == 2 && a.op == "test-reader"));

    let mut per_worker = 0;
    for w in workers {
        let o = join_worker(w).await;
        assert_eq!(o.exit, WorkerExit::ControllerShutdown);
        per_worker += o.slices_processed;
    }
    assert_eq!(per_worker, 30);
}

#[tokio::test]
async fn op_error_is_retried_max_retries_times_then_fails_the_execution() {
    let file = slicer_file(&[json!({"only": 1})]);
    let fail = Fail::always();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("fail", fail.clone());
    let job = job(json!({
        "max_retries": 2,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "fail"}
        ]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let _w = h.workers(1);
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;

    assert_eq!(fail.calls(), 3, "max_retries = 2 means 3 attempts");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let reason = outcome.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("had 1 slice failure(s) during processing"),
        "{reason}"
    );
    let records = slices(&store, &ex_id).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].state, SliceState::Error);
    assert_eq!(records[0].retry_count, Some(2));
    let error = records[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("operations[1] (fail): boom on call 3"),
        "{error}"
    );
    let ex = store.get_execution(&ex_id).await.ok();
    assert_eq!(ex.as_ref().map(|e| e.status), Some(ExecutionStatus::Failed));
    assert!(ex.is_some_and(|e| e.has_errors && e.failure_reason.contains("slice failure")));
    assert!(
        store
            .list_analytics(&ex_id)
            .await
            .unwrap_or_default()
            .is_empty(),
        "failed slices write no analytics"
    );
}

#[tokio::test]
async fn a_draining_worker_flushes_what_collect_still_holds() {
    let count = common::ops::Count::default();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("count", count.clone());
    // 10 slices of 187 records: collect emits one batch of 1000 and holds 870 until the flush.
    let job = job(json!({
        "operations": [{"_op": "test-reader"}, {"_op": "collect", "size": 1000}, {"_op": "count"}]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let (_, worker) = h.worker("w");
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(
        join_worker(worker).await.exit,
        WorkerExit::ControllerShutdown
    );
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1870);
}

#[tokio::test]
async fn a_fatal_op_error_is_reported_then_ends_the_worker() {
    let fail = Fail {
        fatal: true,
        ..Fail::always()
    };
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("fail", fail.clone());
    let job =
        job(json!({"max_retries": 3, "operations": [{"_op": "test-reader"}, {"_op": "fail"}]}));
    let t = teraslice_runtime::RuntimeTimeouts {
        worker_disconnect_timeout: std::time::Duration::from_millis(200),
        ..timeouts()
    };
    let h = Harness::start(job, registry, t).await;
    let (_, worker) = h.worker("w");
    let err = match worker.await {
        Ok(r) => r.err().map(|e| e.to_string()).unwrap_or_default(),
        Err(e) => panic!("worker task: {e}"),
    };
    assert_eq!(
        err,
        "a fatal slice error ended the worker: operations[1] (fail): boom on call 1"
    );
    assert_eq!(fail.calls(), 1, "a fatal error is not retried");
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    let records = slices(&store, &ex_id).await;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.state == SliceState::Error)
            .count(),
        1,
        "reported before exiting"
    );
}
