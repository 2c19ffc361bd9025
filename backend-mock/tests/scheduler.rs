//! The scheduler on the mock backend: allocation, capacity, failures, stop, scaling.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{cluster, wrapped, Cluster};
use teraslice_backend_mock::{Faults, MockConfig};
use teraslice_core::backend::*;
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::testing::{wait_until, BackendHooks};
use teraslice_core::ExecutionStatus::*;

/// Records the most controller allocations seen in flight at once.
#[derive(Default)]
struct Counting {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[async_trait]
impl BackendHooks for Counting {
    async fn allocate_execution_controller(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let r = inner.allocate_execution_controller(ex).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

async fn counts(c: &Cluster, ex_id: &str) -> (usize, usize) {
    let state = c.mock.cluster_state().await.expect("state");
    let procs: Vec<_> = processes_of(&state, ex_id).collect();
    let ecs = procs
        .iter()
        .filter(|p| p.assignment == Assignment::ExecutionController)
        .count();
    (ecs, procs.len() - ecs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_executions_all_run_with_bounded_concurrency() {
    let config = MockConfig {
        nodes: 10,
        slots_per_node: 200,
        latency: Duration::from_millis(5),
    };
    let (c, counting) = wrapped(config, |_| Counting::default()).await;

    let mut ids = Vec::new();
    for _ in 0..500 {
        ids.push(c.submit(1).await.ex_id);
    }
    for id in &ids {
        c.wait_status(id, Running).await;
    }
    let max = counting.hooks().max_in_flight.load(Ordering::SeqCst);
    assert!(
        max <= 8,
        "allocation concurrency 8 honoured, saw {max} at once"
    );
    assert!(
        max > 1,
        "executions are allocated concurrently, saw at most {max} at once"
    );
    assert_eq!(c.mock.execution_count(), 500);
}

#[tokio::test]
async fn exhausted_capacity_keeps_executions_pending_until_room_frees() {
    // 4 slots: two executions of one controller + one worker fit, the third waits.
    let c = cluster(MockConfig {
        nodes: 1,
        slots_per_node: 4,
        latency: Duration::ZERO,
    })
    .await;
    let a = c.submit(1).await;
    let b = c.submit(1).await;
    c.wait_status(&a.ex_id, Running).await;
    c.wait_status(&b.ex_id, Running).await;
    let third = c.submit(1).await;
    wait_until(Duration::from_secs(5), "a pending reason", || async {
        c.scheduler.pending_reason().is_some()
    })
    .await;
    assert_eq!(c.status(&third.ex_id).await, Pending);
    let reason = c.scheduler.pending_reason().unwrap_or_default();
    assert!(reason.contains("slots"), "the reason says why: {reason}");

    c.scheduler
        .stop(&a.ex_id, StopOptions::default())
        .await
        .expect("stop");
    c.wait_status(&a.ex_id, Stopped).await;
    c.wait_status(&third.ex_id, Running).await;
    assert_eq!(c.scheduler.pending_reason(), None);
}

#[tokio::test]
async fn allocation_error_fails_the_execution_with_the_backend_message() {
    let c = cluster(MockConfig::default()).await;
    c.mock.set_faults(Faults {
        allocation_error: Some("quota exceeded in namespace ts".into()),
        ..Faults::default()
    });
    let ex = c.submit(2).await;
    c.wait_status(&ex.ex_id, Failed).await;
    let stored = c.store.get_execution(&ex.ex_id).await.expect("stored");
    assert!(stored.has_errors);
    assert!(
        stored
            .failure_reason
            .contains("quota exceeded in namespace ts"),
        "{}",
        stored.failure_reason
    );
    assert_eq!(
        counts(&c, &ex.ex_id).await,
        (0, 0),
        "nothing left on the cluster"
    );
}

#[tokio::test]
async fn controller_exit_fails_the_execution_and_removes_its_workers() {
    let c = cluster(MockConfig::default()).await;
    c.mock.set_faults(Faults {
        controller_exits_after: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let ex = c.submit(3).await;
    c.wait_status(&ex.ex_id, Failed).await;
    let stored = c.store.get_execution(&ex.ex_id).await.expect("stored");
    assert!(
        stored
            .failure_reason
            .contains("execution controller exited (code 1)"),
        "{}",
        stored.failure_reason
    );
    wait_until(Duration::from_secs(5), "workers removed", || async {
        counts(&c, &ex.ex_id).await == (0, 0)
    })
    .await;
}

#[tokio::test]
async fn workers_that_never_get_ready_leave_the_execution_initializing_not_running() {
    let c = cluster(MockConfig::default()).await;
    c.mock.set_faults(Faults {
        workers_never_ready: true,
        ..Faults::default()
    });
    let ex = c.submit(2).await;
    c.wait_status(&ex.ex_id, Initializing).await;
    assert_eq!(counts(&c, &ex.ex_id).await, (1, 0));
}

#[tokio::test]
async fn stop_goes_through_stopping_to_stopped_and_leaves_nothing() {
    let c = cluster(MockConfig::default()).await;
    let ex = c.submit(3).await;
    c.wait_status(&ex.ex_id, Running).await;
    let stopping = c
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");
    assert_eq!(stopping.status, Stopping);
    c.wait_status(&ex.ex_id, Stopped).await;
    assert_eq!(counts(&c, &ex.ex_id).await, (0, 0));
    // Stopping again is a no-op on a terminal execution.
    let again = c
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop again");
    assert_eq!(again.status, Stopped);
}

#[tokio::test]
async fn a_pending_execution_stopped_before_allocation_is_never_allocated() {
    let c = cluster(MockConfig {
        nodes: 1,
        slots_per_node: 2,
        latency: Duration::ZERO,
    })
    .await;
    let running = c.submit(1).await;
    c.wait_status(&running.ex_id, Running).await;
    let queued = c.submit(1).await;
    c.scheduler
        .stop(&queued.ex_id, StopOptions::default())
        .await
        .expect("stop queued");
    c.wait_status(&queued.ex_id, Stopped).await;
    c.scheduler
        .stop(
            &running.ex_id,
            StopOptions {
                force: true,
                ..Default::default()
            },
        )
        .await
        .expect("stop");
    c.wait_status(&running.ex_id, Stopped).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.status(&queued.ex_id).await, Stopped);
    assert_eq!(counts(&c, &queued.ex_id).await, (0, 0));
}

#[tokio::test]
async fn scaling_changes_the_backend_worker_count() {
    let c = cluster(MockConfig::default()).await;
    let ex = c.submit(2).await;
    c.wait_status(&ex.ex_id, Running).await;
    c.scheduler.add_workers(&ex.ex_id, 3).await.expect("add");
    assert_eq!(counts(&c, &ex.ex_id).await, (1, 5));
    c.scheduler
        .remove_workers(&ex.ex_id, 4)
        .await
        .expect("remove");
    assert_eq!(counts(&c, &ex.ex_id).await, (1, 1));
    let change = c.scheduler.set_workers(&ex.ex_id, 4).await.expect("set");
    assert_eq!((change.action.as_str(), change.worker_num), ("set", 4));
    assert_eq!(counts(&c, &ex.ex_id).await, (1, 4));
    assert!(
        c.scheduler.remove_workers(&ex.ex_id, 4).await.is_err(),
        "cannot remove every worker"
    );
}

#[tokio::test]
async fn pause_and_resume_go_through_the_controller() {
    let c = cluster(MockConfig::default()).await;
    let ex = c.submit(1).await;
    c.wait_status(&ex.ex_id, Running).await;
    assert_eq!(
        c.scheduler.pause(&ex.ex_id).await.expect("pause").status,
        Paused
    );
    assert!(
        c.scheduler.pause(&ex.ex_id).await.is_ok(),
        "pausing a paused execution is allowed"
    );
    assert_eq!(
        c.scheduler.resume(&ex.ex_id).await.expect("resume").status,
        Running
    );
    assert!(
        c.scheduler.resume(&ex.ex_id).await.is_err(),
        "resuming a running execution is refused"
    );
}

#[tokio::test]
async fn kubernetes_fields_a_backend_lacks_are_ignored_not_refused() {
    use teraslice_core::job::Target;
    let (c, backend) = wrapped(MockConfig::default(), |_| NoTargets).await;
    let mut job = teraslice_core::testing::sample_job("t", 1);
    job.targets.push(Target {
        key: "zone".into(),
        value: "west".into(),
        constraint: None,
    });
    let ex = c
        .scheduler
        .create_execution("job-1", job.clone())
        .await
        .expect("accepted, as Teraslice's native clustering accepts it");
    let warnings = check_capabilities("native", backend.capabilities(), &job);
    assert!(warnings[0].contains("`targets`"), "{warnings:?}");
    let all = c
        .store
        .list_executions(&Default::default())
        .await
        .expect("list");
    assert_eq!(all[0].ex_id, ex.ex_id);
}

/// The mock, claiming no `targets` support (as the native backend).
struct NoTargets;

impl BackendHooks for NoTargets {
    fn kind(&self, _: &dyn ClusterBackend) -> ClusterManagerType {
        ClusterManagerType::NATIVE
    }
    fn capabilities(&self, _: &dyn ClusterBackend) -> Capabilities {
        Capabilities::default()
    }
}
