//! One living execution per job, and job replaces that lose no update. OpenSearch has no
//! transaction across documents, so the new execution's id is derived from what the caller saw:
//! `uuid5(job_id, latest ex_id)`. Callers that race after seeing the same history derive the
//! same id and `_create` lets one of them win; a caller that sees the winner (creates refresh)
//! finds it living and is refused.
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use teraslice_core::execution::{ExecutionRecord, JobRecord};
use teraslice_core::status::ExecutionStatus;
use teraslice_core::store::{StoreError, StoreResult};

use super::docs::Written;
use super::jobs::{from_doc, to_doc};
use super::mappings::StoreIndex;
use super::ElasticsearchStore;

/// Rounds of read-history-then-create; another round is needed only when the history moved on
/// between the read and the create (an execution created and ended meanwhile).
const CREATE_ROUNDS: u32 = 20;

/// A v5-layout UUID naming the execution that follows `latest` (or the first one) of `job_id`.
fn next_ex_id(job_id: &str, latest: Option<&str>) -> String {
    let mut hash = Sha1::new();
    hash.update(b"teraslice-rs execution of ");
    hash.update(job_id.as_bytes());
    hash.update(b" after ");
    hash.update(latest.unwrap_or("none").as_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes)
        .into_uuid()
        .to_string()
}

impl ElasticsearchStore {
    pub(crate) async fn es_create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord> {
        let index = self.index_pattern(StoreIndex::Execution);
        for round in 0..CREATE_ROUNDS {
            if round > 0 {
                self.refresh(&index).await?;
            }
            // The latest first, then the living check: an execution created between the two
            // reads is seen living; one created after both has the id derived here.
            let latest = self.first_execution(&ex.job_id, false).await?;
            if let Some(living) = self.first_execution(&ex.job_id, true).await? {
                return Err(active(living));
            }
            let mut mine = ex.clone();
            mine.ex_id = next_ex_id(&ex.job_id, latest.as_ref().map(|l| l.ex_id.as_str()));
            match self.es_create_execution(&mine).await {
                Ok(()) => return Ok(mine),
                Err(StoreError::AlreadyExists { .. }) => {
                    let winner = self.es_get_execution(&mine.ex_id).await?;
                    if winner.status.is_living() {
                        return Err(active(winner));
                    }
                    // Created and ended since our read: read the history again.
                    tracing::debug!(job_id = %ex.job_id, round, "job history moved on; retrying");
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(format!(
            "creating an execution of job {} in {index}: its history changed {CREATE_ROUNDS} times in a row",
            ex.job_id
        )))
    }

    /// The job's newest execution, or with `living` its newest one that has not ended.
    async fn first_execution(
        &self,
        job_id: &str,
        living: bool,
    ) -> StoreResult<Option<ExecutionRecord>> {
        let index = self.index_pattern(StoreIndex::Execution);
        let ended: Vec<&str> = ExecutionStatus::TERMINAL
            .iter()
            .map(|s| s.as_str())
            .collect();
        let mut query = json!({"bool": {"filter": [{"term": {"job_id": job_id}}]}});
        if living {
            query["bool"]["must_not"] = json!([{"terms": {"_status": ended}}]);
        }
        let sort = json!([{"_created": "desc"}, {"ex_id": "desc"}]);
        let docs = self.search_sorted(&index, &query, &sort, 0, 1).await?;
        docs.into_iter()
            .next()
            .map(|d| {
                let id = d
                    .get("ex_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                from_doc(d, &index, &id)
            })
            .transpose()
    }

    pub(crate) async fn es_update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()> {
        let index = self.index_pattern(StoreIndex::Jobs);
        let read = self.get_versioned(&index, &job.job_id, "job").await?;
        let stored: JobRecord = from_doc(read.source.clone(), &index, &job.job_id)?;
        let conflict = || StoreError::Conflict {
            kind: "job",
            id: job.job_id.clone(),
        };
        if stored != *expected {
            return Err(conflict());
        }
        match self
            .replace_if(&index, &job.job_id, &to_doc(job, &index)?, &read)
            .await?
        {
            Written::Done => Ok(()),
            Written::Conflict => Err(conflict()),
        }
    }
}

fn active(ex: ExecutionRecord) -> StoreError {
    StoreError::ActiveExecution {
        job_id: ex.job_id,
        ex_id: ex.ex_id,
        status: ex.status,
    }
}

#[cfg(test)]
mod tests {
    use super::next_ex_id;

    #[test]
    fn next_ids_are_uuids_that_depend_on_the_job_and_its_latest_execution() {
        let first = next_ex_id("job-1", None);
        assert_eq!(first, next_ex_id("job-1", None));
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        assert_ne!(first, next_ex_id("job-2", None));
        assert_ne!(first, next_ex_id("job-1", Some(&first)));
    }
}
