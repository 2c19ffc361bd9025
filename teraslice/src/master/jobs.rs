//! The jobs service: submit (validate → store the spec verbatim → start), update, active flags,
//! start, recover and soft delete — Teraslice's `JobsService` with its races and quirks fixed
//! (see docs/compat.md): one living execution per job (the store's exclusive create decides
//! between concurrent `_start`s and `_recover`s) and job changes by compare-and-set.
use std::sync::Arc;

use serde_json::Value;
use teraslice_core::backend::check_capabilities;
use teraslice_core::job::{validate_job, JobValidationContext, ValidationError, ValidationErrors};
use teraslice_core::scheduler::SchedulerError;
use teraslice_core::store::{ExecutionQuery, ListQuery};
use teraslice_core::{
    ExecutionRecord, ExecutionStatus, JobConfig, JobRecord, Scheduler, StateStore, StoreError,
};

pub use super::job_docs::{job_doc, kind_of, pick, CleanupType, Started};
pub use super::jobs_error::{JobsError, JobsResult};

/// Compare-and-set rounds of a job change before a 409; each lost round means another request
/// changed the job meanwhile.
const JOB_CAS_ATTEMPTS: u32 = 20;

pub struct JobsService {
    store: Arc<dyn StateStore>,
    scheduler: Arc<Scheduler>,
    validation: JobValidationContext,
    policy: super::policy::JobPolicy,
}

impl JobsService {
    /// Validates jobs against `config` and the operations of `ops`.
    pub fn new(
        config: &teraslice_core::config::SystemConfig,
        ops: teraslice_runtime::OpRegistry,
        store: Arc<dyn StateStore>,
        scheduler: Arc<Scheduler>,
    ) -> Self {
        let ops: Arc<dyn teraslice_core::job::validate::OpCatalog> = Arc::new(ops);
        JobsService {
            store,
            scheduler,
            validation: config.validation_context(Some(ops)),
            policy: super::policy::JobPolicy::from_config(config),
        }
    }

    /// The limits and image policy jobs are held to.
    pub fn policy(&self) -> &super::policy::JobPolicy {
        &self.policy
    }

    /// Validates the job and holds it to the policy; nothing is stored on failure.
    fn validate(&self, spec: &Value) -> JobsResult<JobConfig> {
        let job = validate_job(spec, &self.validation)?;
        self.policy.check(&job)?;
        Ok(job)
    }

    /// `POST /jobs`: stores the spec as submitted and, with `start`, creates its execution.
    pub async fn submit(&self, spec: Value, start: bool) -> JobsResult<Started> {
        let Value::Object(map) = spec else {
            return Err(JobsError::NoJob(kind_of(&spec)));
        };
        if map.contains_key("job_id") {
            return Err(JobsError::JobIdOnSubmit);
        }
        if !map.contains_key("operations") {
            let missing = ValidationError {
                path: "operations".into(),
                message:
                    "is required: an array of at least two operations, a reader then processors"
                        .into(),
            };
            return Err(ValidationErrors(vec![missing]).into());
        }
        let spec = Value::Object(map);
        let job = self.validate(&spec)?;
        let Value::Object(map) = spec else {
            return Err(JobsError::NoJob("a non-object"));
        };
        let record = JobRecord::new(uuid::Uuid::new_v4().to_string(), map);
        self.store.create_job(&record).await?;
        let ex_id = if start {
            let ex = self
                .scheduler
                .create_execution(&record.job_id, job)
                .await
                .map_err(running)?;
            Some(ex.ex_id)
        } else {
            None
        };
        Ok(Started {
            job_id: record.job_id,
            ex_id,
        })
    }

    /// A job, or 404.
    pub async fn get(&self, job_id: &str) -> JobsResult<JobRecord> {
        match self.store.get_job(job_id).await {
            Ok(job) => Ok(job),
            Err(StoreError::NotFound { .. }) => Err(JobsError::JobNotFound(job_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// A job that is not deleted; `refused` says what a deleted one cannot be (`"started"`).
    async fn get_live(&self, job_id: &str, refused: &'static str) -> JobsResult<JobRecord> {
        let job = self.get(job_id).await?;
        if job.deleted {
            return Err(JobsError::Deleted {
                job_id: job_id.to_string(),
                refused,
            });
        }
        Ok(job)
    }

    /// Reads the job, lets `change` edit it (or refuse), and writes it back only if nobody wrote
    /// it in between (the store's compare-and-set); a lost race reads again. A deleted job is
    /// refused as `refused` (`"updated"`) unless `refused` is `None`.
    async fn change_job<F>(
        &self,
        job_id: &str,
        refused: Option<&'static str>,
        change: F,
    ) -> JobsResult<JobRecord>
    where
        F: Fn(&mut JobRecord) -> JobsResult<()>,
    {
        for _ in 0..JOB_CAS_ATTEMPTS {
            let read = match refused {
                Some(refused) => self.get_live(job_id, refused).await?,
                None => self.get(job_id).await?,
            };
            let mut job = read.clone();
            change(&mut job)?;
            match self.store.update_job_if_unchanged(&job, &read).await {
                Ok(()) => return Ok(job),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict {
            kind: "job",
            id: job_id.to_string(),
        }
        .into())
    }

    /// `PUT /jobs/:id`: replaces the spec (validated), keeping `job_id` and `_created`.
    pub async fn update(&self, job_id: &str, spec: Value) -> JobsResult<JobRecord> {
        let map = match spec {
            Value::Object(m) if !m.is_empty() => m,
            _ => return Err(JobsError::EmptyUpdate(job_id.to_string())),
        };
        self.get_live(job_id, "updated").await?;
        let spec = Value::Object(map);
        self.validate(&spec)?;
        let Value::Object(map) = spec else {
            return Err(JobsError::EmptyUpdate(job_id.to_string()));
        };
        self.change_job(job_id, Some("updated"), |job| {
            let created = job.created;
            *job = JobRecord::new(job_id.to_string(), map.clone());
            job.created = created;
            Ok(())
        })
        .await
    }

    /// `_active` / `_inactive`. Only activation re-validates the job.
    pub async fn set_active(&self, job_id: &str, active: bool) -> JobsResult<JobRecord> {
        self.change_job(job_id, Some("updated"), |job| {
            job.spec.insert("active".into(), Value::Bool(active));
            if active {
                self.validate(&Value::Object(job.spec.clone()))?;
            }
            job.updated = teraslice_core::time::now();
            Ok(())
        })
        .await
    }

    /// The newest execution of a job (any status), or 404.
    pub async fn latest_execution(&self, job_id: &str) -> JobsResult<ExecutionRecord> {
        let query = ExecutionQuery {
            job_id: Some(job_id.to_string()),
            statuses: vec![],
            page: ListQuery { from: 0, size: 1 },
        };
        self.store
            .list_executions(&query)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| JobsError::NoExecution(job_id.to_string()))
    }

    /// 409 when the job has an execution that has not ended.
    async fn refuse_if_running(&self, job_id: &str, deleting: bool) -> JobsResult<()> {
        let query = ExecutionQuery {
            job_id: Some(job_id.to_string()),
            statuses: ExecutionStatus::ALL
                .into_iter()
                .filter(|s| s.is_living())
                .collect(),
            page: ListQuery { from: 0, size: 1 },
        };
        if let Some(ex) = self.store.list_executions(&query).await?.into_iter().next() {
            let (job_id, ex_id, status) = (job_id.to_string(), ex.ex_id, ex.status);
            return Err(if deleting {
                JobsError::RunningDelete {
                    job_id,
                    ex_id,
                    status,
                }
            } else {
                JobsError::Running {
                    job_id,
                    ex_id,
                    status,
                }
            });
        }
        Ok(())
    }

    /// `_start`: a new execution, or with `autorecover` a recovery of the latest one.
    pub async fn start(&self, job_id: &str) -> JobsResult<Started> {
        let record = self.get_live(job_id, "started").await?;
        self.refuse_if_running(job_id, false).await?;
        let job = self.validate(&Value::Object(record.spec))?;
        if job.autorecover {
            if let Ok(latest) = self.latest_execution(job_id).await {
                return self
                    .create_recovery(&latest, job, Some(CleanupType::Pending))
                    .await;
            }
        }
        let ex = self
            .scheduler
            .create_execution(job_id, job)
            .await
            .map_err(running)?;
        Ok(Started {
            job_id: job_id.to_string(),
            ex_id: Some(ex.ex_id),
        })
    }

    /// `POST /jobs/:id/_recover`: recovers the latest execution with the job's current config.
    pub async fn recover_job(
        &self,
        job_id: &str,
        cleanup: Option<CleanupType>,
    ) -> JobsResult<Started> {
        let record = self.get_live(job_id, "recovered").await?;
        let latest = match self.latest_execution(job_id).await {
            Ok(ex) => ex,
            Err(JobsError::NoExecution(_)) => {
                return Err(JobsError::NothingToRecover(job_id.to_string()))
            }
            Err(e) => return Err(e),
        };
        self.refuse_if_running(job_id, false).await?;
        let job = self.validate(&Value::Object(record.spec))?;
        self.create_recovery(&latest, job, cleanup).await
    }

    /// `POST /ex/:id/_recover`: recovers that execution with its own config.
    pub async fn recover_execution(
        &self,
        ex_id: &str,
        cleanup: Option<CleanupType>,
    ) -> JobsResult<Started> {
        let from = match self.store.get_execution(ex_id).await {
            Ok(ex) => ex,
            Err(StoreError::NotFound { .. }) => {
                return Err(JobsError::ExecutionNotFound(ex_id.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        self.refuse_if_running(&from.job_id, false).await?;
        let job = from.job.clone();
        self.policy.check(&job)?;
        self.create_recovery(&from, job, cleanup).await
    }

    async fn create_recovery(
        &self,
        from: &ExecutionRecord,
        job: JobConfig,
        cleanup: Option<CleanupType>,
    ) -> JobsResult<Started> {
        let backend = self.scheduler.backend();
        check_capabilities(backend.kind().as_str(), backend.capabilities(), &job);
        let autorecover = job.autorecover;
        let mut ex = ExecutionRecord::new(&from.job_id, job);
        ex.recovered_execution = Some(from.ex_id.clone());
        ex.recovered_slice_type = cleanup
            .or(autorecover.then_some(CleanupType::Pending))
            .map(|c| c.as_str().to_string());
        let ex = self.scheduler.create_exclusive(ex).await.map_err(running)?;
        Ok(Started {
            job_id: from.job_id.clone(),
            ex_id: Some(ex.ex_id),
        })
    }

    /// `DELETE /jobs/:id`: marks the job deleted and inactive; refused while it runs.
    pub async fn delete(&self, job_id: &str) -> JobsResult<JobRecord> {
        if self.get(job_id).await?.deleted {
            return Err(JobsError::AlreadyDeleted(job_id.to_string()));
        }
        self.refuse_if_running(job_id, true).await?;
        self.change_job(job_id, None, |job| {
            if job.deleted {
                return Err(JobsError::AlreadyDeleted(job_id.to_string()));
            }
            let now = teraslice_core::time::now();
            job.deleted = true;
            job.deleted_on = Some(now);
            job.updated = now;
            job.spec.insert("active".into(), Value::Bool(false));
            Ok(())
        })
        .await
    }
}

/// A scheduler refusal that another request's execution won the job: the 409 `_start` gives.
fn running(e: SchedulerError) -> JobsError {
    match e {
        SchedulerError::Store(StoreError::ActiveExecution {
            job_id,
            ex_id,
            status,
        }) => JobsError::Running {
            job_id,
            ex_id,
            status,
        },
        other => other.into(),
    }
}
