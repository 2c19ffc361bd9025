//! The `StateStore` trait on [`ElasticsearchStore`], forwarding to the per-index modules.
use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::execution::{ExecutionRecord, JobRecord, StatusUpdate};
use teraslice_core::status::ExecutionStatus;
use teraslice_core::store::{
    AnalyticsRecord, ExecutionQuery, ListQuery, SliceQuery, SliceState, SliceStateRecord,
    StateStore, StoreResult,
};

use super::ElasticsearchStore;

#[async_trait]
impl StateStore for ElasticsearchStore {
    async fn create_job(&self, job: &JobRecord) -> StoreResult<()> {
        self.es_create_job(job).await
    }

    async fn get_job(&self, job_id: &str) -> StoreResult<JobRecord> {
        self.es_get_job(job_id).await
    }

    async fn update_job(&self, job: &JobRecord) -> StoreResult<()> {
        self.es_update_job(job).await
    }

    async fn update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()> {
        self.es_update_job_if_unchanged(job, expected).await
    }

    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        self.es_list_jobs(query).await
    }

    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        self.es_create_execution(ex).await
    }

    async fn create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord> {
        self.es_create_execution_exclusive(ex).await
    }

    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        self.es_get_execution(ex_id).await
    }

    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
        self.es_list_executions(query).await
    }

    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        self.es_set_execution_status(ex_id, status, update).await
    }

    async fn update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &Map<String, Value>,
    ) -> StoreResult<()> {
        self.es_update_execution_metadata(ex_id, metadata).await
    }

    async fn write_slice_states(&self, records: &[SliceStateRecord]) -> StoreResult<()> {
        self.es_write_slice_states(records).await
    }

    async fn list_slice_states(&self, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>> {
        self.es_list_slice_states(query).await
    }

    async fn count_slice_states(&self, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64> {
        self.es_count_slice_states(ex_id, state).await
    }

    async fn write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()> {
        self.es_write_analytics(records).await
    }

    async fn list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
        self.es_list_analytics(ex_id).await
    }
}
