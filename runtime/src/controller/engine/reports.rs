//! Slice reports from workers: state records, analytics, and the failure rules.
use chrono::Utc;
use teraslice_core::store::{AnalyticsRecord, SliceState};
use teraslice_core::ExecutionStatus;
use tokio::time::Instant;

use super::{Engine, Probation};
use crate::protocol::SliceReport;

impl Engine {
    pub(super) async fn report(&mut self, worker_id: &str, report: SliceReport) {
        let slice_id = report.slice_id.clone();
        if let Some(slot) = self.workers.get_mut(worker_id) {
            if slot.busy_with.as_deref() == Some(slice_id.as_str()) {
                slot.busy_with = None;
            }
        }
        // First report wins: the slice may have been re-dispatched after its worker vanished.
        let record = if let Some(f) = self.in_flight.remove(&slice_id) {
            if f.worker_id != worker_id {
                // The re-dispatched copy still runs there; its report will be a duplicate.
                tracing::debug!(slice_id = %slice_id, other = %f.worker_id, "slice reported by its earlier worker first");
            }
            f.record
        } else if let Some(q) = self
            .queue
            .iter()
            .position(|q| q.slice.slice_id == slice_id)
            .and_then(|pos| self.queue.remove(pos))
        {
            q.record
        } else {
            tracing::info!(worker_id, slice_id = %slice_id, "duplicate slice report ignored");
            return;
        };
        let mut record = record;
        record.updated = Utc::now();
        record.retry_count = (report.retry_count > 0).then_some(report.retry_count);
        record.state = if report.error.is_some() {
            SliceState::Error
        } else {
            SliceState::Completed
        };
        record.error = report.error.clone();
        let slicer_id = record.slicer_id;
        self.writer.write(vec![record]);
        self.stats.processed += 1;
        if let Some(recovering) = self.recovering.as_mut() {
            recovering.remove(&slice_id);
        }
        match &report.error {
            None => {
                if let Some(a) = &report.analytics {
                    self.op_stats.add(a);
                    if self.ex.job.analytics {
                        self.writer
                            .write_analytics(self.analytics_records(worker_id, slicer_id, &report));
                    }
                }
            }
            Some(err) => {
                self.stats.failed += 1;
                tracing::warn!(worker_id, slice_id = %slice_id, error = %err, "slice failed");
                self.slice_failed(&slice_id, err).await;
            }
        }
        self.refresh_worker_stats();
    }

    pub(super) fn analytics_records(
        &self,
        worker_id: &str,
        slicer_id: u32,
        report: &SliceReport,
    ) -> Vec<AnalyticsRecord> {
        let Some(a) = &report.analytics else {
            return Vec::new();
        };
        let now = Utc::now();
        self.ex
            .job
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| AnalyticsRecord {
                timestamp: now,
                ex_id: self.ex.ex_id.clone(),
                job_id: self.ex.job_id.clone(),
                worker_id: worker_id.to_string(),
                slice_id: report.slice_id.clone(),
                slicer_id,
                op: op.op_name().to_string(),
                order: u32::try_from(i).unwrap_or(u32::MAX),
                count: a.size.get(i).copied().unwrap_or(-1),
                time: a.time.get(i).copied().unwrap_or(-1),
                memory: a.memory.get(i).copied().unwrap_or(0),
                state: "completed".into(),
            })
            .collect()
    }

    pub(super) async fn slice_failed(&mut self, slice_id: &str, err: &str) {
        if self.ending.is_some() {
            // Stopping or failed already: the final status is decided in `finish`.
            return;
        }
        if self.recovering.is_some() {
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
            self.probation = Some(Probation {
                failed: self.stats.failed,
                processed: self.stats.processed,
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
        let Some(p) = self.probation.as_mut() else {
            return;
        };
        if self.stats.failed == p.failed && self.stats.processed > p.processed {
            self.probation = None;
            if self.ending.is_none() {
                self.set_status(ExecutionStatus::Running, None).await;
            }
        } else {
            p.failed = self.stats.failed;
            p.processed = self.stats.processed;
            p.next_check =
                Instant::now() + std::time::Duration::from_millis(self.ex.job.probation_window);
        }
    }
}
