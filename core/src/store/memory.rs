//! The in-memory `StateStore`: for tests and the mock backend.
use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::*;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<String, JobRecord>,
    executions: HashMap<String, ExecutionRecord>,
    slices: HashMap<String, SliceStateRecord>,
    analytics: Vec<AnalyticsRecord>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn page<T: Clone>(mut items: Vec<T>, from: usize, size: usize) -> Vec<T> {
    items.drain(..from.min(items.len()));
    items.truncate(size);
    items
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn create_job(&self, job: &JobRecord) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        if g.jobs.contains_key(&job.job_id) {
            return Err(StoreError::AlreadyExists {
                kind: "job",
                id: job.job_id.clone(),
            });
        }
        g.jobs.insert(job.job_id.clone(), job.clone());
        Ok(())
    }

    async fn get_job(&self, job_id: &str) -> StoreResult<JobRecord> {
        let g = self.inner.lock().await;
        g.jobs
            .get(job_id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                kind: "job",
                id: job_id.into(),
            })
    }

    async fn update_job(&self, job: &JobRecord) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        match g.jobs.get_mut(&job.job_id) {
            Some(slot) => {
                *slot = job.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound {
                kind: "job",
                id: job.job_id.clone(),
            }),
        }
    }

    async fn update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        match g.jobs.get_mut(&job.job_id) {
            Some(slot) if slot == expected => {
                *slot = job.clone();
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict {
                kind: "job",
                id: job.job_id.clone(),
            }),
            None => Err(StoreError::NotFound {
                kind: "job",
                id: job.job_id.clone(),
            }),
        }
    }

    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>> {
        let g = self.inner.lock().await;
        let mut jobs: Vec<_> = g.jobs.values().cloned().collect();
        jobs.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| b.job_id.cmp(&a.job_id))
        });
        Ok(page(jobs, query.from, query.size))
    }

    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        if g.executions.contains_key(&ex.ex_id) {
            return Err(StoreError::AlreadyExists {
                kind: "execution",
                id: ex.ex_id.clone(),
            });
        }
        g.executions.insert(ex.ex_id.clone(), ex.clone());
        Ok(())
    }

    async fn create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord> {
        let mut g = self.inner.lock().await;
        let living = g
            .executions
            .values()
            .find(|e| e.job_id == ex.job_id && e.status.is_living());
        if let Some(living) = living {
            return Err(StoreError::ActiveExecution {
                job_id: ex.job_id.clone(),
                ex_id: living.ex_id.clone(),
                status: living.status,
            });
        }
        if g.executions.contains_key(&ex.ex_id) {
            return Err(StoreError::AlreadyExists {
                kind: "execution",
                id: ex.ex_id.clone(),
            });
        }
        g.executions.insert(ex.ex_id.clone(), ex.clone());
        Ok(ex.clone())
    }

    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord> {
        let g = self.inner.lock().await;
        g.executions
            .get(ex_id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                kind: "execution",
                id: ex_id.into(),
            })
    }

    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>> {
        let g = self.inner.lock().await;
        let mut exs: Vec<_> = g
            .executions
            .values()
            .filter(|e| query.job_id.as_ref().is_none_or(|j| &e.job_id == j))
            .filter(|e| query.statuses.is_empty() || query.statuses.contains(&e.status))
            .cloned()
            .collect();
        exs.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| b.ex_id.cmp(&a.ex_id))
        });
        Ok(page(exs, query.page.from, query.page.size))
    }

    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord> {
        let mut g = self.inner.lock().await;
        let ex = g
            .executions
            .get_mut(ex_id)
            .ok_or_else(|| StoreError::NotFound {
                kind: "execution",
                id: ex_id.into(),
            })?;
        ex.status
            .check_transition(status)
            .map_err(|source| StoreError::Transition {
                ex_id: ex_id.into(),
                to: status,
                source,
            })?;
        update.apply(ex, status);
        Ok(ex.clone())
    }

    async fn update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &Map<String, Value>,
    ) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        let ex = g
            .executions
            .get_mut(ex_id)
            .ok_or_else(|| StoreError::NotFound {
                kind: "execution",
                id: ex_id.into(),
            })?;
        ex.metadata = metadata.clone();
        Ok(())
    }

    async fn write_slice_states(&self, records: &[SliceStateRecord]) -> StoreResult<()> {
        let mut g = self.inner.lock().await;
        for r in records {
            // An update (most writes) keeps the stored key instead of cloning a new one.
            match g.slices.get_mut(&r.slice_id) {
                Some(stored) => stored.clone_from(r),
                None => {
                    g.slices.insert(r.slice_id.clone(), r.clone());
                }
            }
        }
        Ok(())
    }

    async fn list_slice_states(&self, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>> {
        let g = self.inner.lock().await;
        let mut out: Vec<_> = g
            .slices
            .values()
            .filter(|s| s.ex_id == query.ex_id)
            .filter(|s| query.states.is_empty() || query.states.contains(&s.state))
            .cloned()
            .collect();
        out.sort_by_key(|s| (s.slicer_id, s.slicer_order));
        Ok(page(out, query.from, query.size))
    }

    async fn count_slice_states(&self, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64> {
        let g = self.inner.lock().await;
        let n = g
            .slices
            .values()
            .filter(|s| s.ex_id == ex_id && state.is_none_or(|st| s.state == st))
            .count();
        Ok(n as u64)
    }

    async fn write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()> {
        self.inner.lock().await.analytics.extend_from_slice(records);
        Ok(())
    }

    async fn list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
        let g = self.inner.lock().await;
        Ok(g.analytics
            .iter()
            .filter(|a| a.ex_id == ex_id)
            .cloned()
            .collect())
    }
}
