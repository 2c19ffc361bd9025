//! `StateStore` for `SqliteStore`: each call runs one table module's function on a pooled
//! connection off the async runtime.
use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{
    AnalyticsRecord, ExecutionQuery, ListQuery, SliceQuery, SliceState, SliceStateRecord,
    StateStore, StoreResult,
};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobRecord};

use super::{executions, jobs, slices, SqliteStore};

#[async_trait]
impl StateStore for SqliteStore {
    async fn create_job(&self, job: &JobRecord) -> StoreResult<()> {
        let job = job.clone();
        self.run(move |conn| jobs::create(conn, &job)).await
    }

    async fn get_job(&self, job_id: &str) -> StoreResult<JobRecord> {
        let job_id = job_id.to_string();
        self.run(move |conn| jobs::get(conn, &job_id)).await
    }

    async fn update_job(&self, job: &JobRecord) -> StoreResult<()> {
        let job = job.clone();
        self.run(move |conn| jobs::update(conn, &job)).await
    }

    async fn update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()> {
        let (job, expected) = (job.clone(), expected.clone());
        self.run(move |conn| jobs::update_if_unchanged(conn, &job, &expected))
            .await
    }

    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        let query = query.clone();
        self.run(move |conn| jobs::list(conn, &query)).await
    }

    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        let ex = ex.clone();
        self.run(move |conn| executions::create(conn, &ex)).await
    }

    async fn create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord> {
        let ex = ex.clone();
        self.run(move |conn| executions::create_exclusive(conn, &ex))
            .await
    }

    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        let ex_id = ex_id.to_string();
        self.run(move |conn| executions::get(conn, &ex_id)).await
    }

    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
        let query = query.clone();
        self.run(move |conn| executions::list(conn, &query)).await
    }

    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        let (ex_id, update) = (ex_id.to_string(), update.clone());
        self.run(move |conn| executions::set_status(conn, &ex_id, status, &update))
            .await
    }

    async fn update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &Map<String, Value>,
    ) -> StoreResult<()> {
        let (ex_id, metadata) = (ex_id.to_string(), metadata.clone());
        self.run(move |conn| executions::update_metadata(conn, &ex_id, &metadata))
            .await
    }

    async fn write_slice_states(&self, records: &[SliceStateRecord]) -> StoreResult<()> {
        let records = records.to_vec();
        self.run(move |conn| slices::write(conn, &records)).await
    }

    async fn list_slice_states(&self, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>> {
        let query = query.clone();
        self.run(move |conn| slices::list(conn, &query)).await
    }

    async fn count_slice_states(&self, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64> {
        let ex_id = ex_id.to_string();
        self.run(move |conn| slices::count(conn, &ex_id, state))
            .await
    }

    async fn write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()> {
        let records = records.to_vec();
        self.run(move |conn| slices::write_analytics(conn, &records))
            .await
    }

    async fn list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
        let ex_id = ex_id.to_string();
        self.run(move |conn| slices::list_analytics(conn, &ex_id))
            .await
    }
}
