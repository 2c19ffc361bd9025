//! A store wrapper that simulates an outage of the state store: every call fails with
//! `Unavailable` while it is down, and goes through to a [`MemoryStore`] otherwise. Targeted
//! faults fail only the next few calls of one kind ([`OutageStore::fail_next`]), to reach one
//! path of a caller.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::execution::StatusUpdate;
use crate::store::{
    AnalyticsRecord, ExecutionQuery, ListQuery, MemoryStore, SliceQuery, SliceState,
    SliceStateRecord, StateStore, StoreError, StoreResult,
};
use crate::{ExecutionRecord, ExecutionStatus, JobRecord};

/// A kind of store call a targeted fault fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreCall {
    GetExecution,
    CreateExecution,
    ListExecutions,
    /// `set_execution_status` to this status.
    SetStatus(ExecutionStatus),
}

#[derive(Debug, Default)]
struct Fault {
    remaining: u32,
    injected: u32,
}

/// Forwards every call to a [`MemoryStore`], or answers `Unavailable` to all of them while
/// [`OutageStore::set_down`] says so, and to the calls [`OutageStore::fail_next`] targets.
#[derive(Default)]
pub struct OutageStore {
    /// The store behind the outage, for reading what landed.
    pub inner: MemoryStore,
    down: AtomicBool,
    faults: Mutex<HashMap<StoreCall, Fault>>,
}

impl OutageStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The next `times` calls of kind `call` fail with `Unavailable` (added to any left).
    pub fn fail_next(&self, call: StoreCall, times: u32) {
        self.faults().entry(call).or_default().remaining += times;
    }

    /// How many calls of kind `call` a targeted fault has failed so far.
    pub fn injected(&self, call: StoreCall) -> u32 {
        self.faults().get(&call).map_or(0, |f| f.injected)
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, HashMap<StoreCall, Fault>> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        Ok(())
    }

    fn check_call(&self, call: StoreCall) -> StoreResult<()> {
        self.check()?;
        let mut faults = self.faults();
        match faults.get_mut(&call) {
            Some(f) if f.remaining > 0 => {
                f.remaining -= 1;
                f.injected += 1;
                Err(StoreError::Unavailable(format!(
                    "connection refused (fault injected into {call:?})"
                )))
            }
            _ => Ok(()),
        }
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
    async fn update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()> {
        self.check()?;
        self.inner.update_job_if_unchanged(job, expected).await
    }
    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        self.check()?;
        self.inner.list_jobs(query).await
    }
    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        self.check_call(StoreCall::CreateExecution)?;
        self.inner.create_execution(ex).await
    }
    async fn create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord> {
        self.check_call(StoreCall::CreateExecution)?;
        self.inner.create_execution_exclusive(ex).await
    }
    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        self.check_call(StoreCall::GetExecution)?;
        self.inner.get_execution(ex_id).await
    }
    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
        self.check_call(StoreCall::ListExecutions)?;
        self.inner.list_executions(query).await
    }
    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        self.check_call(StoreCall::SetStatus(status))?;
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
