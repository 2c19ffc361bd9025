//! A user's stop that lands while the execution is still starting (its controller started, its
//! workers being allocated) ends `stopped` with nothing left: late writes of the allocator and
//! the backend's simulated controller cannot turn `stopping` into `failed` or `running`.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{start, Cluster};
use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::backend::*;
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::testing::wait_until;
use teraslice_core::ExecutionStatus::*;
use tokio::sync::{broadcast, Semaphore};

/// How the wrapped backend treats workers asked for after the execution was stopped.
#[derive(Clone, Copy, PartialEq)]
enum LateWorkers {
    /// The mock's own answer: the execution is unknown, allocation fails.
    Refused,
    /// As the native backend does: allocating workers re-creates what the stop removed.
    Started,
}

/// The mock, with `allocate_workers` held until the test lets it go, and the controller shown in
/// the cluster state until it returns (a real one takes that long to exit), so the stop watcher
/// cannot mark the execution `stopped` before the allocator's late writes.
struct HeldAllocation {
    inner: Arc<MockBackend>,
    late: LateWorkers,
    /// `stop_execution` first kills the controller, as SIGTERM kills a process not yet
    /// listening for it.
    stop_kills_controller: bool,
    entered: Semaphore,
    release: Semaphore,
    allocating: Mutex<Option<ExecutionRecord>>,
}

impl HeldAllocation {
    fn new(inner: Arc<MockBackend>, late: LateWorkers, stop_kills_controller: bool) -> Self {
        HeldAllocation {
            inner,
            late,
            stop_kills_controller,
            entered: Semaphore::new(0),
            release: Semaphore::new(0),
            allocating: Mutex::new(None),
        }
    }

    fn allocating(&self) -> std::sync::MutexGuard<'_, Option<ExecutionRecord>> {
        self.allocating.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ClusterBackend for HeldAllocation {
    fn kind(&self) -> ClusterManagerType {
        self.inner.kind()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn initialize(&self) -> Result<(), BackendError> {
        self.inner.initialize().await
    }
    async fn shutdown(&self) -> Result<(), BackendError> {
        self.inner.shutdown().await
    }
    async fn ready_for_allocation(&self) -> Readiness {
        self.inner.ready_for_allocation().await
    }
    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        self.inner.allocate_execution_controller(ex).await
    }
    async fn allocate_workers(&self, ex: &ExecutionRecord, n: u32) -> Result<(), BackendError> {
        *self.allocating() = Some(ex.clone());
        self.entered.add_permits(1);
        let _ = self.release.acquire().await.map(|p| p.forget());
        // The only execution of these tests: none left means the stop removed it.
        if self.late == LateWorkers::Started && self.inner.execution_count() == 0 {
            self.inner.allocate_execution_controller(ex).await?;
        }
        let result = self.inner.allocate_workers(ex, n).await;
        *self.allocating() = None;
        result
    }
    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.inner.add_workers(ex, n).await
    }
    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        self.inner.remove_workers(ex_id, n).await
    }
    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.inner.set_workers(ex, n).await
    }
    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError> {
        if self.stop_kills_controller {
            self.inner.kill_controller(ex_id, None);
        }
        self.inner.stop_execution(ex_id, opts).await
    }
    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        let mut state = self.inner.cluster_state().await?;
        if let (Some(ex), Some(node)) = (self.allocating().clone(), state.values_mut().next()) {
            node.active.push(ProcessInfo {
                worker_id: "ec".into(),
                assignment: Assignment::ExecutionController,
                ex_id: ex.ex_id.clone(),
                job_id: ex.job_id.clone(),
                pid: None,
                pod_name: None,
                pod_ip: None,
                image: None,
                assets: vec![],
            });
        }
        Ok(state)
    }
    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.inner.subscribe()
    }
}

async fn held(late: LateWorkers, stop_kills_controller: bool) -> (Cluster, Arc<HeldAllocation>) {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mock = Arc::new(MockBackend::new(MockConfig::default()).with_store(store.clone()));
    let backend = Arc::new(HeldAllocation::new(
        mock.clone(),
        late,
        stop_kills_controller,
    ));
    (start(store, mock, backend.clone()).await, backend)
}

/// Submits, stops while the workers are being allocated, lets the allocation finish, and checks
/// the execution ends `stopped` without a failure reason and with nothing left on the cluster.
async fn stop_during_worker_allocation(late: LateWorkers, stop_kills_controller: bool) {
    let (c, backend) = held(late, stop_kills_controller).await;
    let ex = c.submit(2).await;
    let entered = backend.entered.acquire().await.map(|p| p.forget());
    assert!(entered.is_ok(), "the allocator reached allocate_workers");
    assert_eq!(c.status(&ex.ex_id).await, Initializing);

    let stopping = c
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");
    assert_eq!(stopping.status, Stopping);
    backend.release.add_permits(1);

    c.wait_status(&ex.ex_id, Stopped).await;
    let stored = c.store.get_execution(&ex.ex_id).await.expect("execution");
    assert_eq!(stored.failure_reason, "", "{stored:?}");
    wait_until(Duration::from_secs(10), "no process left", || async {
        let state = c.mock.cluster_state().await.expect("state");
        processes_of(&state, &ex.ex_id).next().is_none() && c.mock.execution_count() == 0
    })
    .await;
    // Nothing late turns it into something else.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.status(&ex.ex_id).await, Stopped);
}

#[tokio::test]
async fn a_failed_worker_allocation_after_a_stop_does_not_fail_the_execution() {
    stop_during_worker_allocation(LateWorkers::Refused, false).await;
}

#[tokio::test]
async fn workers_started_after_a_stop_are_stopped_and_cannot_mark_it_running() {
    stop_during_worker_allocation(LateWorkers::Started, false).await;
}

#[tokio::test]
async fn a_controller_killed_by_the_stop_signal_does_not_fail_the_execution() {
    stop_during_worker_allocation(LateWorkers::Started, true).await;
}
