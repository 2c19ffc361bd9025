//! The `ClusterBackend` contract: where an execution's controller and workers run.
//! Every operation is idempotent: allocating an execution that already has its controller, or
//! stopping one that is gone, succeeds without duplicating or failing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use crate::cluster_state::{
    processes_of, ClusterState, MasterProcess, NodeState, ProcessInfo, WorkerId,
};
use crate::config::ClusterManagerType;
use crate::execution::ExecutionRecord;
use crate::job::JobConfig;

/// Errors a backend reports; each names the object and what went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The job uses a feature this backend lacks (e.g. `targets` on native).
    #[error("job field `{field}` is not supported by the {backend} cluster backend: {hint}")]
    NotSupported {
        backend: &'static str,
        field: String,
        hint: String,
    },
    /// The request cannot be satisfied as asked (e.g. removing more workers than run).
    #[error("{0}")]
    InvalidRequest(String),
    /// No execution with that id has processes here.
    #[error("execution {0} has no processes on this cluster")]
    UnknownExecution(String),
    /// The cluster could not be reached or answered with an error worth retrying.
    #[error("cluster unreachable: {0}")]
    Unreachable(String),
    /// No room for the execution now; it waits in `pending` and is retried.
    #[error("no capacity: {0}")]
    NoCapacity(String),
    /// Creating the execution's processes or objects failed.
    #[error("allocation failed: {0}")]
    Allocation(String),
    /// An object exists that belongs to something else.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

/// Whether new executions can be allocated now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Readiness {
    Ready,
    NotReady { reason: String },
}

/// Where workers reach the execution controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerAddress {
    pub hostname: String,
    pub port: u16,
}

/// `{timeout?, force?, excludeNode?}` of Teraslice's `stopExecution`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopOptions {
    /// Grace period before processes are killed; `None` = the backend's default.
    pub timeout_ms: Option<u64>,
    /// Kill at once, every kind of process.
    pub force: bool,
    /// Leave processes on this node alone (native master shutdown).
    pub exclude_node: Option<String>,
}

/// The answer of add/remove/set workers (Teraslice `{action, ex_id, workerNum}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerChange {
    pub action: String,
    pub ex_id: String,
    #[serde(rename = "workerNum")]
    pub worker_num: u32,
}

/// What a backend can do; a job needing a missing capability is refused at submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub targets: bool,
    pub volumes: bool,
    pub resources: bool,
    pub pod_spec_override: bool,
}

/// Process role, as Teraslice names it (`assignment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    ExecutionController,
    Worker,
}

/// What happened to an execution's processes; the scheduler fails executions from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendEvent {
    pub ex_id: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    ControllerStarted,
    ControllerExited {
        code: Option<i32>,
        reason: String,
    },
    WorkerStarted {
        worker_id: String,
    },
    WorkerExited {
        worker_id: String,
        code: Option<i32>,
        reason: String,
    },
    /// The process could not be started or placed (no node fits, start failed).
    Unschedulable {
        reason: String,
    },
    ImagePullFailed {
        reason: String,
    },
    CrashLooping {
        reason: String,
    },
    /// Everything of the execution is gone after a stop.
    Stopped,
}

impl EventKind {
    /// Events after which the execution cannot go on.
    pub fn fatal_reason(&self) -> Option<String> {
        match self {
            EventKind::ControllerExited { code, reason } if *code != Some(0) => Some(format!(
                "execution controller exited (code {}): {reason}",
                fmt_code(*code)
            )),
            EventKind::Unschedulable { reason } => Some(format!("cannot be scheduled: {reason}")),
            EventKind::ImagePullFailed { reason } => {
                Some(format!("image cannot be pulled: {reason}"))
            }
            EventKind::CrashLooping { reason } => Some(format!("crash-looping: {reason}")),
            _ => None,
        }
    }
}

fn fmt_code(code: Option<i32>) -> String {
    code.map_or_else(|| "none, killed by a signal".to_string(), |c| c.to_string())
}

/// Where an execution runs. Object-safe: used as `Arc<dyn ClusterBackend>`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClusterBackend: Send + Sync {
    fn kind(&self) -> ClusterManagerType;
    fn capabilities(&self) -> Capabilities;
    async fn initialize(&self) -> Result<(), BackendError>;
    async fn shutdown(&self) -> Result<(), BackendError>;
    async fn ready_for_allocation(&self) -> Readiness;
    /// Starts the execution controller; returns where workers reach it. Idempotent.
    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError>;
    /// Starts `workers` workers (the execution's initial set). Idempotent.
    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError>;
    async fn add_workers(&self, ex: &ExecutionRecord, n: u32)
        -> Result<WorkerChange, BackendError>;
    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError>;
    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError>;
    /// Stops every process of the execution. Stopping an unknown execution succeeds.
    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError>;
    async fn cluster_state(&self) -> Result<ClusterState, BackendError>;
    /// A new subscription to lifecycle events, from now on.
    fn subscribe(&self) -> broadcast::Receiver<BackendEvent>;
}

/// The Kubernetes fields of `job` that `backend` cannot honour, each logged as a warning: they are
/// ignored, as Teraslice's native clustering ignores them.
pub fn check_capabilities(backend: &str, caps: Capabilities, job: &JobConfig) -> Vec<String> {
    let mut ignored = Vec::new();
    let mut ignore = |present: bool, supported: bool, field: &str| {
        if present && !supported {
            ignored.push(format!(
                "job \"{}\": `{field}` is a Kubernetes field; the {backend} cluster backend ignores it",
                job.name
            ));
        }
    };
    ignore(!job.targets.is_empty(), caps.targets, "targets");
    ignore(!job.volumes.is_empty(), caps.volumes, "volumes");
    ignore(
        !job.pod_spec_override.is_empty(),
        caps.pod_spec_override,
        "pod_spec_override",
    );
    ignore(job.ephemeral_storage, caps.volumes, "ephemeral_storage");
    for warning in &ignored {
        tracing::warn!("{warning}");
    }
    ignored
}
