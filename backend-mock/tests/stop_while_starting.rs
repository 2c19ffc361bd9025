//! A user's stop that lands while the execution is still starting (its controller started, its
//! workers being allocated) ends `stopped` with nothing left: late writes of the allocator and
//! the backend's simulated controller cannot turn `stopping` into `failed` or `running`.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{wrapped, Cluster};
use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::backend::*;
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::testing::{wait_until, BackendHooks, ForwardingBackend};
use teraslice_core::ExecutionStatus::*;
use tokio::sync::Semaphore;

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
    /// The wrapped mock, for what only it can do (count executions, kill a controller).
    mock: Arc<MockBackend>,
    late: LateWorkers,
    /// `stop_execution` first kills the controller, as SIGTERM kills a process not yet
    /// listening for it.
    stop_kills_controller: bool,
    entered: Semaphore,
    release: Semaphore,
    allocating: Mutex<Option<ExecutionRecord>>,
}

impl HeldAllocation {
    fn new(mock: Arc<MockBackend>, late: LateWorkers, stop_kills_controller: bool) -> Self {
        HeldAllocation {
            mock,
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
impl BackendHooks for HeldAllocation {
    async fn allocate_workers(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<(), BackendError> {
        *self.allocating() = Some(ex.clone());
        self.entered.add_permits(1);
        let _ = self.release.acquire().await.map(|p| p.forget());
        // The only execution of these tests: none left means the stop removed it.
        if self.late == LateWorkers::Started && self.mock.execution_count() == 0 {
            inner.allocate_execution_controller(ex).await?;
        }
        let result = inner.allocate_workers(ex, n).await;
        *self.allocating() = None;
        result
    }
    async fn stop_execution(
        &self,
        inner: &dyn ClusterBackend,
        ex_id: &str,
        opts: &StopOptions,
    ) -> Result<(), BackendError> {
        if self.stop_kills_controller {
            self.mock.kill_controller(ex_id, None);
        }
        inner.stop_execution(ex_id, opts).await
    }
    async fn cluster_state(
        &self,
        inner: &dyn ClusterBackend,
    ) -> Result<ClusterState, BackendError> {
        let mut state = inner.cluster_state().await?;
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
}

async fn held(
    late: LateWorkers,
    stop_kills_controller: bool,
) -> (Cluster, Arc<ForwardingBackend<HeldAllocation>>) {
    wrapped(MockConfig::default(), |mock| {
        HeldAllocation::new(mock, late, stop_kills_controller)
    })
    .await
}

/// Submits, stops while the workers are being allocated, lets the allocation finish, and checks
/// the execution ends `stopped` without a failure reason and with nothing left on the cluster.
async fn stop_during_worker_allocation(late: LateWorkers, stop_kills_controller: bool) {
    let (c, backend) = held(late, stop_kills_controller).await;
    let ex = c.submit(2).await;
    let entered = backend.hooks().entered.acquire().await.map(|p| p.forget());
    assert!(entered.is_ok(), "the allocator reached allocate_workers");
    // The workers are allocated together with the `initializing` write, which the held
    // allocation does not hold back.
    c.wait_status(&ex.ex_id, Initializing).await;

    let stopping = c
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");
    assert_eq!(stopping.status, Stopping);
    backend.hooks().release.add_permits(1);

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
