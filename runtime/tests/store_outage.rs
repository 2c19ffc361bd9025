//! The EC with a store that goes away: an outage within `state_write_retry_timeout` loses no
//! slice state; a store that never returns fails the execution and, when even the final status
//! cannot land, the EC ends with an error that carries the status and the reason.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use serde_json::json;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{
    AnalyticsRecord, ExecutionQuery, ListQuery, MemoryStore, SliceQuery, SliceState,
    SliceStateRecord, StateStore, StoreError, StoreResult,
};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobRecord};
use teraslice_runtime::controller::ControllerOptions;
use teraslice_runtime::{ExecutionController, OpRegistry, RuntimeError, Worker, WorkerOptions};

/// Forwards to a MemoryStore, or answers `Unavailable` to everything while `down`.
struct OutageStore {
    inner: MemoryStore,
    down: AtomicBool,
}

impl OutageStore {
    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl StateStore for OutageStore {
    async fn create_job(&self, job: &JobRecord) -> StoreResult<()> {
        self.check()?;
        self.inner.create_job(job).await
    }
    async fn get_job(&self, job_id: &str) -> StoreResult<JobRecord> {
        self.check()?;
        self.inner.get_job(job_id).await
    }
    async fn update_job(&self, job: &JobRecord) -> StoreResult<()> {
        self.check()?;
        self.inner.update_job(job).await
    }
    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        self.check()?;
        self.inner.list_jobs(query).await
    }
    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        self.check()?;
        self.inner.create_execution(ex).await
    }
    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        self.check()?;
        self.inner.get_execution(ex_id).await
    }
    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
        self.check()?;
        self.inner.list_executions(query).await
    }
    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        self.check()?;
        self.inner.set_execution_status(ex_id, status, update).await
    }
    async fn update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        self.check()?;
        self.inner.update_execution_metadata(ex_id, metadata).await
    }
    async fn write_slice_states(&self, records: &[SliceStateRecord]) -> StoreResult<()> {
        self.check()?;
        self.inner.write_slice_states(records).await
    }
    async fn list_slice_states(&self, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>> {
        self.check()?;
        self.inner.list_slice_states(query).await
    }
    async fn count_slice_states(&self, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64> {
        self.check()?;
        self.inner.count_slice_states(ex_id, state).await
    }
    async fn write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()> {
        self.check()?;
        self.inner.write_analytics(records).await
    }
    async fn list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
        self.check()?;
        self.inner.list_analytics(ex_id).await
    }
}

struct Run {
    store: Arc<OutageStore>,
    ex_id: String,
    ec: tokio::task::JoinHandle<Result<teraslice_runtime::ExecutionOutcome, RuntimeError>>,
}

/// 40 slices through `delay` on 2 workers; the workers read the store directly (never down).
async fn start(retry_timeout: Duration) -> (Run, tempfile::NamedTempFile) {
    let requests: Vec<_> = (0..40).map(|i| json!([{ "n": i }])).collect();
    let file = slicer_file(&requests);
    let job = job(json!({
        "workers": 2,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path(), "passthrough_slice": true},
            {"_op": "delay", "ms": 50}
        ]
    }));
    let store = Arc::new(OutageStore {
        inner: MemoryStore::new(),
        down: AtomicBool::new(false),
    });
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
    store.down.store(true, Ordering::SeqCst);
    let before = completed(&store, &ex_id).await;
    assert!(before < 40, "the outage came after the job ended");
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.down.store(false, Ordering::SeqCst);
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
    store.down.store(true, Ordering::SeqCst);
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
