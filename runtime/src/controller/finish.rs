//! The end of an execution: the final status (runtime reference §2.8) and the outcome.
use serde::Serialize;
use teraslice_core::store::SliceState;
use teraslice_core::ExecutionStatus;

use super::analytics::ExecutionAnalytics;
use super::engine::{Ending, Engine};

/// How an execution ended, as written to the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionOutcome {
    pub ex_id: String,
    pub status: ExecutionStatus,
    /// `_failureReason` when the execution failed or was terminated.
    pub failure_reason: Option<String>,
    pub stats: ExecutionAnalytics,
}

impl Engine {
    /// Writes the final status: `failed` after a terminal error; after a stop before the
    /// slicers finished, `terminated` (or the master's `stopping`/`stopped` is kept); otherwise
    /// `failed` if any slice is `error` or stuck in `start`, else `completed`. A status the
    /// store refuses because the master is stopping the execution leaves `stopping` in place.
    pub async fn finish(&mut self) -> ExecutionOutcome {
        self.d.lock().stats.job_duration = self.started_at.elapsed().as_secs().max(1);
        self.writer.flush().await;
        if self.retry.is_down() {
            // The final status gets its own full retry window, even after the buffer gave up.
            self.retry = std::sync::Arc::new(super::store_retry::StoreRetry::new(
                self.timeouts.state_write_retry_timeout,
            ));
        }
        let op_stats = self.d.lock().op_stats.clone();
        tracing::info!(ex_id = %self.ex.ex_id, ?op_stats, "execution analytics per op");
        let (status, reason) = match self.ending.clone() {
            Some(Ending::Terminal(reason)) => {
                // Already `failed`; refresh the stats snapshot.
                self.set_status(ExecutionStatus::Failed, Some(reason.clone()))
                    .await;
                (ExecutionStatus::Failed, Some(reason))
            }
            Some(Ending::Stop) if self.interrupted || !self.done_processing() => {
                self.stopped_status().await
            }
            _ => self.completion_status().await,
        };
        let (status, reason) = if self.status != status && self.unwritten_status.is_none() {
            self.refused_final_status(status, reason).await
        } else {
            (status, reason)
        };
        ExecutionOutcome {
            ex_id: self.ex.ex_id.clone(),
            status,
            failure_reason: reason,
            stats: self.stats(),
        }
    }

    /// The store refused the final status: the master stopped the execution meanwhile (a
    /// `stopping` execution only ends `stopped` or `completed`), and `stopping` is kept for it.
    async fn refused_final_status(
        &mut self,
        wanted: ExecutionStatus,
        reason: Option<String>,
    ) -> (ExecutionStatus, Option<String>) {
        let current = match self.store.get_execution(&self.ex.ex_id).await {
            Ok(ex) => ex.status,
            Err(_) => return (wanted, reason),
        };
        if !matches!(
            current,
            ExecutionStatus::Stopping | ExecutionStatus::Stopped
        ) {
            return (wanted, reason);
        }
        tracing::info!(ex_id = %self.ex.ex_id, %wanted, %current, "the execution was stopped by the master; keeping its status");
        self.set_status(current, None).await;
        (current, None)
    }

    async fn stopped_status(&mut self) -> (ExecutionStatus, Option<String>) {
        let current = match self.store.get_execution(&self.ex.ex_id).await {
            Ok(ex) => ex.status,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the execution status");
                self.status
            }
        };
        if matches!(
            current,
            ExecutionStatus::Stopping | ExecutionStatus::Stopped
        ) {
            // The master is stopping it and will write `stopped`; only refresh the stats.
            self.set_status(current, None).await;
            return (current, None);
        }
        if self.signal_keeps_status && current.is_running() {
            tracing::warn!(ex_id = %self.ex.ex_id, %current, "stopped by a signal the master did not send: leaving the status to the master and the pod's replacement");
            self.set_status(current, None).await;
            return (current, None);
        }
        let reason = format!(
            "execution {} received shutdown before the slicer could complete, setting status to \"terminated\"",
            self.ex.ex_id
        );
        self.set_status(ExecutionStatus::Terminated, Some(reason.clone()))
            .await;
        (ExecutionStatus::Terminated, Some(reason))
    }

    async fn completion_status(&mut self) -> (ExecutionStatus, Option<String>) {
        let count = |state| {
            let (store, retry) = (self.store.clone(), self.retry.clone());
            let ex_id = self.ex.ex_id.clone();
            async move {
                let what = format!("counting the {state:?} slices of execution {ex_id}");
                let op = || store.count_slice_states(&ex_id, Some(state));
                retry.run(&what, op, || None).await
            }
        };
        let (errors, started, pending) = match (
            count(SliceState::Error).await,
            count(SliceState::Start).await,
            count(SliceState::Pending).await,
        ) {
            (Ok(e), Ok(s), Ok(p)) => (e, s, p),
            (e, s, p) => {
                let err = [e.err(), s.err(), p.err()].into_iter().flatten().next();
                let reason = format!(
                    "execution {} could not count its slice states: {}",
                    self.ex.ex_id,
                    err.map(|e| e.to_string()).unwrap_or_default()
                );
                self.set_status(ExecutionStatus::Failed, Some(reason.clone()))
                    .await;
                return (ExecutionStatus::Failed, Some(reason));
            }
        };
        if errors == 0 && started == 0 {
            self.set_status(ExecutionStatus::Completed, None).await;
            return (ExecutionStatus::Completed, None);
        }
        let mut parts = Vec::new();
        if started > 0 {
            parts.push(format!("had {started} slice(s) stuck in started"));
        }
        if pending > 0 {
            parts.push(format!("had {pending} slice(s) are still pending"));
        }
        if errors > 0 {
            parts.push(format!("had {errors} slice failure(s) during processing"));
        }
        let reason = format!("execution: {} {}", self.ex.ex_id, parts.join(","));
        self.set_status(ExecutionStatus::Failed, Some(reason.clone()))
            .await;
        (ExecutionStatus::Failed, Some(reason))
    }
}
