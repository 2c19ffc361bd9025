//! Which metrics each assignment shows, under which name: Teraslice's first, then ours.
use prometheus_client::registry::Registry;

use super::RuntimeMetrics;

/// The kind of process, as Teraslice's `assignment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    Master,
    ExecutionController,
    Worker,
}

impl Assignment {
    /// The `assignment` default label.
    pub fn as_str(self) -> &'static str {
        match self {
            Assignment::Master => "master",
            Assignment::ExecutionController => "execution_controller",
            Assignment::Worker => "worker",
        }
    }

    /// The name prefix (without its `_`). Teraslice's master passes `teraslice_` (so
    /// `teraslice_master_info`, `teraslice_slices_processed`); the EC and the worker keep the
    /// default `teraslice_<assignment>_`.
    pub fn prefix(self) -> String {
        match self {
            Assignment::Master => "teraslice".into(),
            other => format!("teraslice_{}", other.as_str()),
        }
    }

    /// The info gauge's name within the prefix.
    pub fn info_name(self) -> &'static str {
        match self {
            Assignment::Master => "master_info",
            Assignment::ExecutionController => "execution_controller_info",
            Assignment::Worker => "worker_info",
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Assignment::Master => "cluster master",
            Assignment::ExecutionController => "execution controller",
            Assignment::Worker => "worker",
        }
    }
}

pub(super) fn register_runtime(reg: &mut Registry, assignment: Assignment, m: &RuntimeMetrics) {
    match assignment {
        Assignment::Master => {}
        Assignment::ExecutionController => {
            reg.register(
                "slices_processed",
                "Number of slices processed by all workers",
                m.slices_processed.clone(),
            );
            reg.register(
                "slices_failed",
                "Number of slices failed, all workers",
                m.slices_failed.clone(),
            );
            reg.register(
                "slices_queued",
                "Number of slices made and waiting for a worker",
                m.slices_queued.clone(),
            );
            reg.register(
                "workers_active",
                "Number of workers processing a slice",
                m.workers_active.clone(),
            );
            reg.register(
                "workers_available",
                "Number of workers connected and waiting for work",
                m.workers_available.clone(),
            );
            reg.register(
                "workers_joined",
                "Total number of workers that joined this execution controller",
                m.workers_joined.clone(),
            );
            reg.register(
                "workers_reconnected",
                "Total number of workers that reconnected to this execution controller",
                m.workers_reconnected.clone(),
            );
            reg.register(
                "workers_disconnected",
                "Total number of workers that disconnected from this execution controller",
                m.workers_disconnected.clone(),
            );
            reg.register(
                "store_write_duration_seconds",
                "Seconds one batched write of slice states to the state store took",
                m.store_write_duration.clone(),
            );
        }
        Assignment::Worker => {
            reg.register(
                "slices_processed",
                "Number of slices the worker has processed",
                m.slices_processed.clone(),
            );
            reg.register(
                "slices_failed",
                "Number of slices that failed in this worker",
                m.slices_failed.clone(),
            );
            reg.register(
                "records_read",
                "Records the reader returned (rate() gives records/s)",
                m.records_read.clone(),
            );
            reg.register(
                "records_written",
                "Records the last operation returned",
                m.records_written.clone(),
            );
            reg.register(
                "op_duration_seconds",
                "Seconds each operation took per slice",
                m.op_duration.clone(),
            );
            reg.register(
                "slice_duration_seconds",
                "Seconds a slice took, every operation included",
                m.slice_duration.clone(),
            );
        }
    }
}
