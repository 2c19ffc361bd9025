//! Execution records in `<name>__ex`, id `ex_id`. Status and metadata changes are
//! read-verify-write with `if_seq_no`/`if_primary_term`: of two writers only one can win, the
//! other re-reads (409) and is checked against the winner's status.
use std::time::Duration;

use serde_json::{json, Map, Value};
use teraslice_core::execution::{ExecutionRecord, StatusUpdate};
use teraslice_core::status::ExecutionStatus;
use teraslice_core::store::{ExecutionQuery, StoreError, StoreResult};

use super::docs::{Versioned, Written};
use super::jobs::{from_doc, to_doc};
use super::mappings::StoreIndex;
use super::ElasticsearchStore;

/// Compare-and-set rounds before giving up; each lost round means another writer won one.
const CAS_ATTEMPTS: u32 = 100;

impl ElasticsearchStore {
    pub(crate) async fn es_create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        let index = self.index_pattern(StoreIndex::Execution);
        self.create_doc(&index, &ex.ex_id, "execution", &to_doc(ex, &index)?)
            .await
    }

    pub(crate) async fn es_get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        let index = self.index_pattern(StoreIndex::Execution);
        let read = self.get_versioned(&index, ex_id, "execution").await?;
        from_doc(read.source, &index, ex_id)
    }

    pub(crate) async fn es_list_executions(
        &self,
        query: &ExecutionQuery,
    ) -> StoreResult<Vec<ExecutionRecord>> {
        let index = self.index_pattern(StoreIndex::Execution);
        let mut filter = Vec::new();
        if let Some(job_id) = &query.job_id {
            filter.push(json!({"term": {"job_id": job_id}}));
        }
        if !query.statuses.is_empty() {
            let statuses: Vec<String> = query.statuses.iter().map(|s| s.to_string()).collect();
            filter.push(json!({"terms": {"_status": statuses}}));
        }
        let es_query = json!({"bool": {"filter": filter}});
        let sort = json!([{"_created": "desc"}, {"ex_id": "desc"}]);
        let docs = self
            .search_sorted(&index, &es_query, &sort, query.page.from, query.page.size)
            .await?;
        docs.into_iter()
            .map(|d| {
                let id = d
                    .get("ex_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                from_doc(d, &index, &id)
            })
            .collect()
    }

    pub(crate) async fn es_set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        self.compare_and_set(ex_id, |source, index| {
            let mut ex: ExecutionRecord = from_doc(source.clone(), index, ex_id)?;
            ex.status
                .check_transition(status)
                .map_err(|e| StoreError::Transition {
                    ex_id: ex_id.to_string(),
                    to: status,
                    source: e,
                })?;
            update.apply(&mut ex, status);
            Ok(ex)
        })
        .await
    }

    pub(crate) async fn es_update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &Map<String, Value>,
    ) -> StoreResult<()> {
        self.compare_and_set(ex_id, |source, index| {
            let mut ex: ExecutionRecord = from_doc(source.clone(), index, ex_id)?;
            ex.metadata = metadata.clone();
            Ok(ex)
        })
        .await
        .map(|_| ())
    }

    /// Reads the execution, lets `change` produce the new record (or refuse), writes it only if
    /// nobody wrote in between, and starts over after a 409.
    async fn compare_and_set<F>(&self, ex_id: &str, change: F) -> StoreResult<ExecutionRecord>
    where
        F: Fn(&Value, &str) -> StoreResult<ExecutionRecord>,
    {
        let index = self.index_pattern(StoreIndex::Execution);
        for attempt in 0..CAS_ATTEMPTS {
            let read = self.get_versioned(&index, ex_id, "execution").await?;
            let ex = change(&read.source, &index)?;
            let doc = merged(&read, to_doc(&ex, &index)?);
            match self.replace_if(&index, ex_id, &doc, &read).await? {
                Written::Done => return Ok(ex),
                Written::Conflict => {
                    tracing::debug!(
                        ex_id,
                        attempt,
                        "execution changed by another writer; re-reading"
                    );
                    // A short, growing pause spreads racing writers apart.
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(20)) * 2)).await;
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "updating execution {ex_id} in {index}: other writers changed it {CAS_ATTEMPTS} times in a row"
        )))
    }
}

/// The stored document with the record's fields written over it, so fields this store does not
/// model (written by Teraslice or a newer version) survive the replace.
fn merged(read: &Versioned, record: Value) -> Value {
    let mut doc = read.source.clone();
    match (doc.as_object_mut(), record) {
        (Some(stored), Value::Object(fields)) => {
            for (k, v) in fields {
                stored.insert(k, v);
            }
            doc
        }
        (_, record) => record,
    }
}
