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
        /// The backend's name.
        backend: &'static str,
        /// The job field, e.g. `targets`.
        field: String,
        /// What to do instead.
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
    /// Anything else, with its message.
    #[error("{0}")]
    Other(String),
}

/// Whether new executions can be allocated now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Readiness {
    /// New executions may be allocated.
    Ready,
    /// Not now, and why; new executions wait in `pending`.
    NotReady {
        /// Why, for the logs and `pending` executions.
        reason: String,
    },
}

/// Where workers reach the execution controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerAddress {
    /// Host name or IP the execution controller listens on.
    pub hostname: String,
    /// Its slicer port (WebSocket and control HTTP).
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
    /// `add`, `remove` or `set`.
    pub action: String,
    /// The execution.
    pub ex_id: String,
    /// Workers added or removed, or the new total for `set`.
    #[serde(rename = "workerNum")]
    pub worker_num: u32,
}

/// Which Kubernetes job fields a backend honours; a job using one it lacks runs with the field
/// ignored and a warning logged ([`check_capabilities`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Job `targets` (node selection).
    pub targets: bool,
    /// Job `volumes` and `ephemeral_storage`.
    pub volumes: bool,
    /// CPU and memory requests and limits.
    pub resources: bool,
    /// Job `pod_spec_override`.
    pub pod_spec_override: bool,
}

/// Process role, as Teraslice names it (`assignment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// The execution controller: slicers and the slice queue.
    ExecutionController,
    /// A worker: fetcher and processors.
    Worker,
}

/// What happened to an execution's processes; the scheduler fails executions from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendEvent {
    /// The execution the process belongs to.
    pub ex_id: String,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a process (see [`EventKind::fatal_reason`] for the fatal ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The execution controller was started.
    ControllerStarted,
    /// The execution controller ended (not by a stop): code 0 after the execution ended, else a failure.
    ControllerExited {
        /// Exit code; `None` when killed by a signal.
        code: Option<i32>,
        /// Why, in words (becomes the execution's failure reason when fatal).
        reason: String,
    },
    /// A worker was started.
    WorkerStarted {
        /// The worker's name or number.
        worker_id: String,
    },
    /// A worker ended (not by a stop).
    WorkerExited {
        /// The worker's name or number.
        worker_id: String,
        /// Exit code; `None` when killed by a signal.
        code: Option<i32>,
        /// Why, in words (becomes the execution's failure reason when fatal).
        reason: String,
    },
    /// The process could not be started or placed (no node fits, start failed).
    Unschedulable {
        /// Why, in words (becomes the execution's failure reason when fatal).
        reason: String,
    },
    /// The container image cannot be pulled (Kubernetes).
    ImagePullFailed {
        /// Why, in words (becomes the execution's failure reason when fatal).
        reason: String,
    },
    /// The process keeps failing at start (Kubernetes).
    CrashLooping {
        /// Why, in words (becomes the execution's failure reason when fatal).
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

/// Where an execution runs. Object-safe: used as `Arc<dyn ClusterBackend>`. The contract in
/// prose, and the conformance suite every implementation passes (`testing::backend`), are in
/// `docs/extending.md`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClusterBackend: Send + Sync {
    /// The name this backend is registered under (`cluster_manager_type`).
    fn kind(&self) -> ClusterManagerType;
    /// The Kubernetes job fields it honours.
    fn capabilities(&self) -> Capabilities;
    /// Once, when the master starts, before any other call but `kind` and `capabilities`.
    async fn initialize(&self) -> Result<(), BackendError>;
    /// Once, when the master stops: stops what it runs unless that outlives masters by design.
    async fn shutdown(&self) -> Result<(), BackendError>;
    /// Whether a new execution may be allocated now.
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
    /// Starts `n` more workers.
    async fn add_workers(&self, ex: &ExecutionRecord, n: u32)
        -> Result<WorkerChange, BackendError>;
    /// Stops `n` workers; removing every worker is refused.
    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError>;
    /// Brings the execution to `total` workers; the answer's `worker_num` is `total`.
    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError>;
    /// Stops every process of the execution. Stopping an unknown execution succeeds.
    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError>;
    /// `/cluster/state`: the nodes and the processes of every execution on them.
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
