//! A master's stop that reaches an execution before its controller runs it (`stopping` already
//! stored when the EC starts, or stored while the EC initialises) is kept: the EC never writes
//! `running`, `failed` or `terminated` over it, and the master can then record `stopped`.
mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use teraslice_runtime::ops::{Fetcher, OpContext, OpError, ReaderFactory, Slicer};
use teraslice_runtime::OpRegistry;

/// An execution stored with `statuses` applied in order, as the master writes them.
async fn stored(statuses: &[ExecutionStatus]) -> (Arc<MemoryStore>, ExecutionRecord) {
    let store = Arc::new(MemoryStore::new());
    let ex = ExecutionRecord::new("job-1", job(json!({"lifecycle": "persistent"})));
    assert!(store.create_execution(&ex).await.is_ok());
    for &s in statuses {
        let set = store
            .set_execution_status(&ex.ex_id, s, &StatusUpdate::default())
            .await;
        assert!(set.is_ok(), "{s}: {set:?}");
    }
    (store, ex)
}

async fn status_of(store: &MemoryStore, ex_id: &str) -> Option<ExecutionStatus> {
    store.get_execution(ex_id).await.ok().map(|e| e.status)
}

/// The master's last step: `stopped` once the processes are gone.
async fn master_marks_stopped(store: &MemoryStore, ex_id: &str) {
    let stopped = store
        .set_execution_status(ex_id, ExecutionStatus::Stopped, &StatusUpdate::default())
        .await;
    assert!(
        stopped.is_ok(),
        "the master can record stopped: {stopped:?}"
    );
}

#[tokio::test]
async fn an_ec_started_after_the_stop_leaves_stopping_for_the_master() {
    use ExecutionStatus::*;
    let (store, ex) = stored(&[Scheduling, Initializing, Stopping]).await;
    let ex_id = ex.ex_id.clone();
    let h = Harness::start_with(store.clone(), ex, OpRegistry::with_builtins(), timeouts()).await;
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, Stopping);
    assert_eq!(outcome.failure_reason, None);
    assert_eq!(status_of(&store, &ex_id).await, Some(Stopping));
    master_marks_stopped(&store, &ex_id).await;
}

/// `test-reader`, except that making its slicers first runs `hook`: a moment when the EC has
/// read its start status but not yet recorded `running`.
struct HookedReader {
    inner: Arc<dyn ReaderFactory>,
    hook: Box<dyn Fn() + Send + Sync>,
}

impl ReaderFactory for HookedReader {
    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        (self.hook)();
        self.inner.slicers(ctx)
    }
    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        self.inner.fetcher(ctx)
    }
}

// Multi-threaded: the hook blocks the EC's task while it writes to the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_stored_while_the_ec_initialises_is_not_overwritten() {
    use ExecutionStatus::*;
    let (store, ex) = stored(&[Scheduling, Initializing]).await;
    let ex_id = ex.ex_id.clone();
    let mut registry = OpRegistry::with_builtins();
    let inner = match registry.reader("test-reader") {
        Ok(f) => f,
        Err(e) => panic!("test-reader: {e}"),
    };
    let (hook_store, hook_id) = (store.clone(), ex_id.clone());
    let hook = Box::new(move || {
        let update = StatusUpdate::default();
        let stop = hook_store.set_execution_status(&hook_id, Stopping, &update);
        let set = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(stop));
        assert!(set.is_ok(), "the master's stop is stored: {set:?}");
    });
    registry.register_reader("test-reader", HookedReader { inner, hook });
    let h = Harness::start_with(store.clone(), ex, registry, timeouts()).await;
    wait_until("EC ready", || async {
        h.http("GET", "/health").await.0 == 200
    })
    .await;
    assert_eq!(
        status_of(&store, &ex_id).await,
        Some(Stopping),
        "the EC did not record running over the stop"
    );

    // The stop signal reaches the EC (SIGTERM in a native process).
    assert!(h.ec.stop().await.is_ok());
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, Stopping);
    assert_eq!(outcome.failure_reason, None);
    assert_eq!(status_of(&store, &ex_id).await, Some(Stopping));
    master_marks_stopped(&store, &ex_id).await;
}
