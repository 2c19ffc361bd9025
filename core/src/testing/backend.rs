//! The `ClusterBackend` conformance suite: every backend (mock, native, Kubernetes) passes it.
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::{sample_execution, wait_until};
use crate::backend::{
    processes_of, Assignment, BackendEvent, ClusterBackend, EventKind, Readiness, StopOptions,
};
use crate::execution::ExecutionRecord;

/// A backend under test and how patient to be with it.
pub struct BackendHarness {
    pub backend: Arc<dyn ClusterBackend>,
    /// Longest wait for the cluster state to reflect a change (pods take longer than processes).
    pub settle: Duration,
    /// Grace period used for graceful stops.
    pub stop_timeout: Duration,
}

impl BackendHarness {
    pub fn new(backend: Arc<dyn ClusterBackend>) -> Self {
        BackendHarness {
            backend,
            settle: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(5),
        }
    }

    async fn counts(&self, ex_id: &str) -> (usize, usize) {
        let Ok(state) = self.backend.cluster_state().await else {
            return (usize::MAX, usize::MAX);
        };
        let procs: Vec<_> = processes_of(&state, ex_id).collect();
        let ecs = procs
            .iter()
            .filter(|p| p.assignment == Assignment::ExecutionController)
            .count();
        (ecs, procs.len() - ecs)
    }

    /// Waits until the cluster state shows `ecs` controllers and `workers` workers for `ex_id`.
    pub async fn wait_for_counts(&self, ex_id: &str, ecs: usize, workers: usize) {
        let what = format!("{ecs} execution controller(s) and {workers} worker(s) of {ex_id}");
        wait_until(self.settle, &what, || async {
            self.counts(ex_id).await == (ecs, workers)
        })
        .await;
    }

    /// Allocates the controller and the initial workers of a new execution.
    pub async fn allocate(&self, workers: u32) -> ExecutionRecord {
        let mut ex = sample_execution("conformance", workers);
        let addr = self
            .backend
            .allocate_execution_controller(&ex)
            .await
            .expect("allocate execution controller");
        assert!(
            !addr.hostname.is_empty(),
            "controller address has a hostname"
        );
        ex.slicer_hostname = Some(addr.hostname);
        ex.slicer_port = Some(addr.port);
        self.backend
            .allocate_workers(&ex, workers)
            .await
            .expect("allocate workers");
        ex
    }

    async fn stop(&self, ex_id: &str, force: bool) {
        let opts = StopOptions {
            timeout_ms: Some(self.stop_timeout.as_millis() as u64),
            force,
            exclude_node: None,
        };
        self.backend
            .stop_execution(ex_id, &opts)
            .await
            .expect("stop execution");
        self.wait_for_counts(ex_id, 0, 0).await;
    }
}

/// Runs every check in order; each allocates and cleans up its own executions.
pub async fn run_all(h: &BackendHarness) {
    h.backend.initialize().await.expect("initialize");
    ready_for_allocation(h).await;
    allocate_shows_controller_and_workers(h).await;
    allocation_is_idempotent(h).await;
    scaling(h).await;
    graceful_stop(h).await;
    force_stop(h).await;
    stop_unknown_execution_succeeds(h).await;
    events_arrive_in_order(h).await;
}

pub async fn ready_for_allocation(h: &BackendHarness) {
    let ready = h.backend.ready_for_allocation().await;
    assert_eq!(
        ready,
        Readiness::Ready,
        "an idle backend is ready for allocation"
    );
}

pub async fn allocate_shows_controller_and_workers(h: &BackendHarness) {
    let ex = h.allocate(3).await;
    h.wait_for_counts(&ex.ex_id, 1, 3).await;
    let state = h.backend.cluster_state().await.expect("cluster state");
    for p in processes_of(&state, &ex.ex_id) {
        assert_eq!(p.job_id, ex.job_id, "every process carries the job id");
    }
    h.stop(&ex.ex_id, true).await;
}

pub async fn allocation_is_idempotent(h: &BackendHarness) {
    let ex = h.allocate(2).await;
    h.wait_for_counts(&ex.ex_id, 1, 2).await;
    let again = h
        .backend
        .allocate_execution_controller(&ex)
        .await
        .expect("second allocation succeeds");
    assert_eq!(
        Some(again.port),
        ex.slicer_port,
        "the second allocation returns the same controller"
    );
    h.backend
        .allocate_workers(&ex, 2)
        .await
        .expect("second worker allocation succeeds");
    // Give a duplicating backend the chance to show its duplicates before checking.
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.wait_for_counts(&ex.ex_id, 1, 2).await;
    h.stop(&ex.ex_id, true).await;
}

pub async fn scaling(h: &BackendHarness) {
    let ex = h.allocate(2).await;
    h.wait_for_counts(&ex.ex_id, 1, 2).await;
    let added = h.backend.add_workers(&ex, 2).await.expect("add workers");
    assert_eq!(added.worker_num, 2);
    h.wait_for_counts(&ex.ex_id, 1, 4).await;
    let removed = h
        .backend
        .remove_workers(&ex.ex_id, 3)
        .await
        .expect("remove workers");
    assert_eq!(removed.action, "remove");
    h.wait_for_counts(&ex.ex_id, 1, 1).await;
    let too_many = h.backend.remove_workers(&ex.ex_id, 1).await;
    assert!(
        too_many.is_err(),
        "removing every worker is refused, got {too_many:?}"
    );
    let set = h.backend.set_workers(&ex, 3).await.expect("set workers");
    assert_eq!(set.worker_num, 3);
    h.wait_for_counts(&ex.ex_id, 1, 3).await;
    h.stop(&ex.ex_id, true).await;
}

pub async fn graceful_stop(h: &BackendHarness) {
    let ex = h.allocate(2).await;
    h.wait_for_counts(&ex.ex_id, 1, 2).await;
    h.stop(&ex.ex_id, false).await;
}

pub async fn force_stop(h: &BackendHarness) {
    let ex = h.allocate(2).await;
    h.wait_for_counts(&ex.ex_id, 1, 2).await;
    h.stop(&ex.ex_id, true).await;
}

pub async fn stop_unknown_execution_succeeds(h: &BackendHarness) {
    let opts = StopOptions::default();
    h.backend
        .stop_execution("00000000-0000-4000-8000-000000000000", &opts)
        .await
        .expect("stopping an unknown execution succeeds");
    let ex = h.allocate(1).await;
    h.wait_for_counts(&ex.ex_id, 1, 1).await;
    h.stop(&ex.ex_id, true).await;
    h.backend
        .stop_execution(&ex.ex_id, &opts)
        .await
        .expect("stopping a stopped execution succeeds");
}

/// The controller's start is reported before any worker's, for this execution only.
pub async fn events_arrive_in_order(h: &BackendHarness) {
    let mut events = h.backend.subscribe();
    let ex = h.allocate(2).await;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + h.settle;
    while seen
        .iter()
        .filter(|k| matches!(k, EventKind::WorkerStarted { .. }))
        .count()
        < 2
    {
        let next = tokio::time::timeout_at(deadline, recv_for(&mut events, &ex.ex_id)).await;
        match next {
            Ok(Some(kind)) => seen.push(kind),
            Ok(None) => panic!("event stream closed; saw {seen:?}"),
            Err(_) => panic!(
                "timed out waiting for start events of {}; saw {seen:?}",
                ex.ex_id
            ),
        }
    }
    assert_eq!(
        seen.first(),
        Some(&EventKind::ControllerStarted),
        "controller starts first: {seen:?}"
    );
    h.stop(&ex.ex_id, true).await;
}

async fn recv_for(
    events: &mut broadcast::Receiver<BackendEvent>,
    ex_id: &str,
) -> Option<EventKind> {
    loop {
        match events.recv().await {
            Ok(ev) if ev.ex_id == ex_id => return Some(ev.kind),
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
