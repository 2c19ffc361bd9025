//! Slice reports the sessions could not answer themselves (failures, recovery, an old
//! connection), and the failure rules.
use teraslice_core::ExecutionStatus;
use tokio::time::Instant;

use super::dispatch::Recorded;
use super::{Engine, Probation};
use crate::protocol::{Message, SliceReport};

impl Engine {
    pub(super) async fn report(&mut self, worker_id: &str, report: &SliceReport) {
        let recorded = self.d.lock().record_report(worker_id, report);
        if let Recorded::Failed { slice_id, error } = recorded {
            self.slice_failed(&slice_id, &error).await;
        }
    }

    /// Tells every connected worker to finish and exit (the frames are queued before the
    /// sessions close).
    pub async fn shutdown_workers(&mut self) {
        let wait = self.timeouts.network_latency_buffer;
        let peers = self.d.lock().peers();
        let sends = peers.into_iter().map(|peer| async move {
            let _ = tokio::time::timeout(wait, peer.send(Message::Shutdown)).await;
        });
        futures::future::join_all(sends).await;
    }

    pub(super) async fn slice_failed(&mut self, slice_id: &str, err: &str) {
        if self.ending.is_some() {
            // Stopping or failed already: the final status is decided in `finish`.
            return;
        }
        if self.d.lock().recovering.is_some() {
            self.terminal_error(format!(
                "Slice failed while recovering: slice {slice_id}: {err}"
            ))
            .await;
        } else if self.once() {
            if self.status != ExecutionStatus::Failing {
                self.set_status(
                    ExecutionStatus::Failing,
                    Some(format!("slice failure event: slice {slice_id}: {err}")),
                )
                .await;
            }
        } else if self.probation.is_none() {
            let stats = self.stats();
            self.probation = Some(Probation {
                failed: stats.failed,
                processed: stats.processed,
                next_check: Instant::now()
                    + std::time::Duration::from_millis(self.ex.job.probation_window),
            });
            self.set_status(
                ExecutionStatus::Failing,
                Some(format!("slice failure event: slice {slice_id}: {err}")),
            )
            .await;
        }
    }

    /// Persistent jobs: back to `running` once a probation window passes with progress and no
    /// new failure (Teraslice's slice failure watchdog).
    pub(super) async fn check_probation(&mut self) {
        let stats = self.stats();
        let Some(p) = self.probation.as_mut() else {
            return;
        };
        if stats.failed == p.failed && stats.processed > p.processed {
            self.probation = None;
            if self.ending.is_none() {
                self.set_status(ExecutionStatus::Running, None).await;
            }
        } else {
            p.failed = stats.failed;
            p.processed = stats.processed;
            p.next_check =
                Instant::now() + std::time::Duration::from_millis(self.ex.job.probation_window);
        }
    }
}
