//! Worker counts: starting what fits in free slots, queueing the rest, choosing whom to remove.
use std::time::Duration;

use teraslice_core::backend::{Assignment, WorkerChange};
use teraslice_core::{BackendError, ExecutionRecord};

use crate::backend::{change, NativeBackend};
use crate::state::State;
use crate::stop::Target;

impl NativeBackend {
    /// Starts `n` workers as far as slots allow and queues the rest; they start as slots free.
    /// Fails when a worker cannot be started (also reported as an `Unschedulable` event).
    pub(crate) fn start_workers(
        &self,
        st: &mut State,
        ex_id: &str,
        n: usize,
    ) -> Result<(), BackendError> {
        for _ in 0..n {
            if self.shared.free_slots(st) == 0 {
                st.queue.push_back(ex_id.to_string());
                continue;
            }
            self.shared
                .launch(st, ex_id, Assignment::Worker, None)
                .map_err(|reason| {
                    BackendError::Allocation(format!("worker of execution {ex_id}: {reason}"))
                })?;
        }
        Ok(())
    }

    /// Teraslice native's `addWorkers`: `{action: "enqueued", workerNum: n}`.
    pub(crate) fn add(&self, ex: &ExecutionRecord, n: u32) -> Result<WorkerChange, BackendError> {
        let mut st = self.shared.state();
        if !st.executions.contains_key(&ex.ex_id) {
            return Err(BackendError::UnknownExecution(ex.ex_id.clone()));
        }
        st.remember(ex);
        self.start_workers(&mut st, &ex.ex_id, n as usize)?;
        Ok(change("enqueued", &ex.ex_id, n))
    }

    /// Running (not stopping) plus queued workers of a known execution.
    pub(crate) fn worker_count(&self, ex_id: &str) -> Result<u32, BackendError> {
        let st = self.shared.state();
        if !st.executions.contains_key(ex_id) {
            return Err(BackendError::UnknownExecution(ex_id.to_string()));
        }
        let n = st.running_workers(ex_id).len() + st.queued_workers(ex_id);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Takes `n` workers away, queued ones first; the running ones picked are marked stopping
    /// and returned to be terminated. At least one worker must remain (Teraslice answers 400).
    pub(crate) fn pick_removals(
        &self,
        ex_id: &str,
        n: u32,
    ) -> Result<(Vec<Target>, Duration), BackendError> {
        let mut st = self.shared.state();
        if !st.executions.contains_key(ex_id) {
            return Err(BackendError::UnknownExecution(ex_id.to_string()));
        }
        let running = st.running_workers(ex_id);
        let queued = st.queued_workers(ex_id);
        let current = running.len() + queued;
        let n = n as usize;
        if n >= current {
            return Err(BackendError::InvalidRequest(format!(
                "workers to be removed: {n} cannot be >= to current workers: {current} of \
                 execution {ex_id}; at most {} can be removed, at least one must remain",
                current.saturating_sub(1)
            )));
        }
        let from_queue = n.min(queued);
        for _ in 0..from_queue {
            if let Some(pos) = st.queue.iter().rposition(|id| id == ex_id) {
                st.queue.remove(pos);
            }
        }
        // The most recently started go first: the oldest have made the most progress.
        let mut targets = Vec::new();
        for pid in running.iter().rev().take(n - from_queue) {
            if let Some(p) = st.procs.get_mut(pid) {
                p.stopping = true;
                targets.push(Target {
                    pid: *pid,
                    exited: p.exited.clone(),
                });
            }
        }
        Ok((targets, self.shared.cfg.stop_timeout))
    }
}
