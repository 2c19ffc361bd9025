//! Job records in `<name>__jobs`, id `job_id`, written with refresh (Teraslice forceRefresh).
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use teraslice_core::execution::JobRecord;
use teraslice_core::store::{ListQuery, StoreError, StoreResult};

use super::docs::Written;
use super::mappings::StoreIndex;
use super::ElasticsearchStore;

/// Full-replace retries when another writer updates the same job meanwhile.
const REPLACE_ATTEMPTS: u32 = 20;

impl ElasticsearchStore {
    pub(crate) async fn es_create_job(&self, job: &JobRecord) -> StoreResult<()> {
        let index = self.index_pattern(StoreIndex::Jobs);
        self.create_doc(&index, &job.job_id, "job", &to_doc(job, &index)?)
            .await
    }

    pub(crate) async fn es_get_job(&self, job_id: &str) -> StoreResult<JobRecord> {
        let index = self.index_pattern(StoreIndex::Jobs);
        let read = self.get_versioned(&index, job_id, "job").await?;
        from_doc(read.source, &index, job_id)
    }

    /// Full replace of an existing job: read (for existence and version), then write if unchanged.
    pub(crate) async fn es_update_job(&self, job: &JobRecord) -> StoreResult<()> {
        let index = self.index_pattern(StoreIndex::Jobs);
        let doc = to_doc(job, &index)?;
        for _ in 0..REPLACE_ATTEMPTS {
            let read = self.get_versioned(&index, &job.job_id, "job").await?;
            if let Written::Done = self.replace_if(&index, &job.job_id, &doc, &read).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "updating job {} in {index}: other writers changed it {REPLACE_ATTEMPTS} times in a row",
            job.job_id
        )))
    }

    pub(crate) async fn es_list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        let index = self.index_pattern(StoreIndex::Jobs);
        let sort = json!([{"_created": "desc"}, {"job_id": "desc"}]);
        let docs = self
            .search_sorted(
                &index,
                &json!({"match_all": {}}),
                &sort,
                query.from,
                query.size,
            )
            .await?;
        docs.into_iter()
            .map(|d| {
                let id = d
                    .get("job_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                from_doc(d, &index, &id)
            })
            .collect()
    }
}

/// A record as its document.
pub(crate) fn to_doc<T: Serialize>(record: &T, index: &str) -> StoreResult<Value> {
    serde_json::to_value(record)
        .map_err(|e| StoreError::Data(format!("cannot turn a record for {index} into JSON: {e}")))
}

/// A document as its record; the error names the index and document.
pub(crate) fn from_doc<T: DeserializeOwned>(doc: Value, index: &str, id: &str) -> StoreResult<T> {
    serde_json::from_value(doc).map_err(|e| {
        StoreError::Data(format!(
            "document {id} in {index} is not a Teraslice record this store can read: {e}"
        ))
    })
}
