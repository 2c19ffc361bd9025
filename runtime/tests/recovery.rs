//! Recovery of an earlier execution: every slicer, every unfinished slice, cleanup types.
mod common;

use std::sync::Arc;

use chrono::Utc;
use common::ops::Counter;
use common::*;
use serde_json::json;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{MemoryStore, SliceState, SliceStateRecord, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use teraslice_runtime::OpRegistry;

fn counter_job(extra: serde_json::Value) -> teraslice_core::JobConfig {
    let mut j =
        json!({"slicers": 2, "workers": 2, "operations": [{"_op": "counter"}, {"_op": "noop"}]});
    if let (Some(m), Some(e)) = (j.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    job(j)
}

/// An old failed execution of 2 slicers:
/// slicer 0: orders 1,2 completed, 3 error, 4 pending; slicer 1: 1 completed, 2 start, 3 error.
async fn old_execution(store: &MemoryStore) -> ExecutionRecord {
    let old = ExecutionRecord::new("job-1", counter_job(json!({})));
    assert!(store.create_execution(&old).await.is_ok());
    let failed = store
        .set_execution_status(
            &old.ex_id,
            ExecutionStatus::Failed,
            &StatusUpdate::failed("x"),
        )
        .await;
    assert!(failed.is_ok());
    use SliceState::*;
    let layout = [
        (0, 1, Completed),
        (0, 2, Completed),
        (0, 3, Error),
        (0, 4, Pending),
        (1, 1, Completed),
        (1, 2, Start),
        (1, 3, Error),
    ];
    let records: Vec<_> = layout
        .iter()
        .map(|&(s, order, state)| SliceStateRecord {
            slice_id: format!("old-{s}-{order}"),
            slicer_id: s,
            slicer_order: order,
            request: json!({"s": s, "i": order - 1}).to_string(),
            state,
            ex_id: old.ex_id.clone(),
            created: Utc::now(),
            updated: Utc::now(),
            error: (state == Error).then(|| "boom".to_string()),
            retry_count: None,
        })
        .collect();
    assert!(store.write_slice_states(&records).await.is_ok());
    old
}

fn recovered(
    old: &ExecutionRecord,
    job: teraslice_core::JobConfig,
    cleanup: Option<&str>,
) -> ExecutionRecord {
    let mut ex = ExecutionRecord::new("job-1", job);
    ex.recovered_execution = Some(old.ex_id.clone());
    ex.recovered_slice_type = cleanup.map(str::to_string);
    ex
}

#[tokio::test]
async fn cleanup_errors_reruns_only_error_slices_of_every_slicer_then_ends() {
    let store = Arc::new(MemoryStore::new());
    let old = old_execution(&store).await;
    let ex = recovered(&old, counter_job(json!({})), Some("errors"));
    assert!(store.create_execution(&ex).await.is_ok());
    let counter = Counter::new(5);
    let mut registry = OpRegistry::with_builtins();
    registry.register_reader("counter", counter.clone());
    let h = Harness::start_with(store.clone(), ex.clone(), registry, timeouts()).await;
    let _w = h.workers(2);
    h.completed().await;
    let mut ids: Vec<_> = slices(&store, &ex.ex_id)
        .await
        .into_iter()
        .map(|r| (r.slice_id, r.state))
        .collect();
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ids,
        vec![
            ("old-0-3".to_string(), SliceState::Completed),
            ("old-1-3".to_string(), SliceState::Completed)
        ]
    );
    assert!(
        counter.starts.lock().map(|s| s.is_empty()).unwrap_or(false),
        "a cleanup run makes no new slices"
    );
}

#[tokio::test]
async fn autorecover_reruns_unfinished_slices_then_resumes_each_slicer() {
    let store = Arc::new(MemoryStore::new());
    let old = old_execution(&store).await;
    let ex = recovered(&old, counter_job(json!({"autorecover": true})), None);
    assert!(store.create_execution(&ex).await.is_ok());
    let counter = Counter::new(5);
    let mut registry = OpRegistry::with_builtins();
    registry.register_reader("counter", counter.clone());
    let h = Harness::start_with(store.clone(), ex.clone(), registry, timeouts()).await;
    let _w = h.workers(2);
    h.completed().await;
    let records = slices(&store, &ex.ex_id).await;
    // 4 recovered (error, pending, start of both slicers); each slicer resumes after the last
    // slice it made (completed or re-queued): slicer 0 after i=3 (1 new), slicer 1 after i=2 (2 new).
    assert_eq!(records.len(), 7);
    assert!(records.iter().all(|r| r.state == SliceState::Completed));
    let recovered: Vec<_> = records
        .iter()
        .filter(|r| r.slice_id.starts_with("old-"))
        .map(|r| r.slice_id.clone())
        .collect();
    assert_eq!(recovered.len(), 4);
    // New slices are numbered after the old execution's: no two slices share a slicer_order.
    let mut orders: Vec<_> = records
        .iter()
        .map(|r| (r.slicer_id, r.slicer_order))
        .collect();
    orders.sort_unstable();
    assert_eq!(
        orders,
        vec![(0, 3), (0, 4), (0, 5), (1, 2), (1, 3), (1, 4), (1, 5)],
        "recovered keep their orders, new ones follow"
    );
    let mut starts = counter.starts.lock().map(|s| s.clone()).unwrap_or_default();
    starts.sort_by_key(|s| s.slicer_id);
    let last: Vec<_> = starts
        .iter()
        .map(|s| (s.slicer_id, s.last_slice.clone()))
        .collect();
    assert_eq!(
        last,
        vec![
            (0, Some(json!({"s": 0, "i": 3}))),
            (1, Some(json!({"s": 1, "i": 2})))
        ]
    );
}

#[tokio::test]
async fn a_slicer_that_is_not_recoverable_fails_the_recovery() {
    let store = Arc::new(MemoryStore::new());
    let old = old_execution(&store).await;
    let ex = recovered(&old, job(json!({})), Some("all"));
    assert!(store.create_execution(&ex).await.is_ok());
    let h = Harness::start_with(
        store.clone(),
        ex.clone(),
        OpRegistry::with_builtins(),
        timeouts(),
    )
    .await;
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(
        outcome.failure_reason.as_deref(),
        Some("Slicer is not recoverable")
    );
}
