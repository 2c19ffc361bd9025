//! A store error on any of the scheduler's paths delays an execution but never strands it: each
//! test fails the store calls of one path a few times (`OutageStore::fail_next`) and checks the
//! execution still reaches the status it would have reached, and that the fault was hit. A force
//! stop the backend refuses keeps the execution `stopping`, visibly, until it succeeds.
mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{config, start_with, Cluster};
use teraslice_backend_mock::{Faults, MockBackend, MockConfig};
use teraslice_core::backend::{BackendError, ClusterBackend, ControllerAddress, StopOptions};
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::scheduler::SchedulerConfig;
use teraslice_core::store::StateStore;
use teraslice_core::testing::{
    sample_job, wait_until, BackendHooks, ForwardingBackend, OutageStore, StoreCall,
};
use teraslice_core::ExecutionStatus::{self, *};

const TRIES: u32 = 3;

struct Faulty {
    outage: Arc<OutageStore>,
    cluster: Cluster,
}

impl Faulty {
    async fn start<H: BackendHooks + 'static>(
        hooks: impl FnOnce(Arc<MockBackend>, Arc<OutageStore>) -> H,
        config: SchedulerConfig,
    ) -> Faulty {
        let outage = Arc::new(OutageStore::new());
        let store: Arc<dyn StateStore> = outage.clone();
        let mock = Arc::new(MockBackend::new(MockConfig::default()).with_store(store.clone()));
        let backend = Arc::new(ForwardingBackend::new(
            mock.clone(),
            hooks(mock.clone(), outage.clone()),
        ));
        let cluster = start_with(store, mock, backend, config).await;
        Faulty { outage, cluster }
    }

    async fn plain() -> Faulty {
        Faulty::start(|_, _| (), config()).await
    }

    async fn submit(&self) -> ExecutionRecord {
        let job_id = uuid::Uuid::new_v4().to_string();
        self.cluster
            .scheduler
            .create_execution(&job_id, sample_job("faults", 1))
            .await
            .expect("create execution")
    }

    /// The stored record, read past the faults.
    async fn record(&self, ex_id: &str) -> ExecutionRecord {
        self.outage
            .inner
            .get_execution(ex_id)
            .await
            .expect("execution exists")
    }

    async fn wait_status(&self, ex_id: &str, want: ExecutionStatus) {
        let what = format!("{ex_id} to be {want}");
        wait_until(Duration::from_secs(20), &what, || async {
            self.record(ex_id).await.status == want
        })
        .await;
    }
}

async fn reaches_running_despite(call: StoreCall) {
    let f = Faulty::plain().await;
    f.outage.fail_next(call, TRIES);
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Running).await;
    // The mock's simulated controller may record `running` while the `initializing` write
    // (which the workers start alongside) is still being retried.
    wait_until(Duration::from_secs(20), "the fault to be hit", || async {
        f.outage.injected(call) == TRIES
    })
    .await;
    wait_until(
        Duration::from_secs(20),
        "the controller's address recorded",
        || async { f.record(&ex.ex_id).await.slicer_port.is_some() },
    )
    .await;
}

#[tokio::test]
async fn loading_a_queued_execution_waits_for_the_store() {
    reaches_running_despite(StoreCall::GetExecution).await;
}

#[tokio::test]
async fn recording_scheduling_waits_for_the_store_instead_of_failing() {
    reaches_running_despite(StoreCall::SetStatus(Scheduling)).await;
}

#[tokio::test]
async fn recording_initializing_waits_for_the_store_instead_of_dropping_the_execution() {
    reaches_running_despite(StoreCall::SetStatus(Initializing)).await;
}

/// The first controller allocation finds no room.
struct NoRoomOnce {
    refused: AtomicBool,
}

#[async_trait]
impl BackendHooks for NoRoomOnce {
    async fn allocate_execution_controller(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        if !self.refused.swap(true, Ordering::SeqCst) {
            return Err(BackendError::NoCapacity("no room (scripted)".into()));
        }
        inner.allocate_execution_controller(ex).await
    }
}

#[tokio::test]
async fn a_requeue_waits_for_the_store_and_the_execution_runs_later() {
    let hooks = |_, _| NoRoomOnce {
        refused: AtomicBool::new(false),
    };
    let f = Faulty::start(hooks, config()).await;
    let call = StoreCall::SetStatus(Pending);
    f.outage.fail_next(call, TRIES);
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Running).await;
    assert_eq!(f.outage.injected(call), TRIES);
}

#[tokio::test]
async fn a_failure_is_recorded_once_the_store_answers() {
    let f = Faulty::plain().await;
    f.cluster.mock.set_faults(Faults {
        allocation_error: Some("scripted allocation error".into()),
        ..Default::default()
    });
    let call = StoreCall::SetStatus(Failed);
    f.outage.fail_next(call, TRIES);
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Failed).await;
    assert_eq!(f.outage.injected(call), TRIES);
    let reason = f.record(&ex.ex_id).await.failure_reason;
    assert!(reason.contains("scripted allocation error"), "{reason}");
}

/// Stopping the execution also makes the stop watcher's next reads fail.
struct FailWatcherReads {
    outage: Arc<OutageStore>,
}

#[async_trait]
impl BackendHooks for FailWatcherReads {
    async fn stop_execution(
        &self,
        inner: &dyn ClusterBackend,
        ex_id: &str,
        opts: &StopOptions,
    ) -> Result<(), BackendError> {
        self.outage.fail_next(StoreCall::GetExecution, TRIES);
        inner.stop_execution(ex_id, opts).await
    }
}

#[tokio::test]
async fn the_stop_watcher_keeps_watching_through_store_errors() {
    let hooks = |_, outage| FailWatcherReads { outage };
    let f = Faulty::start(hooks, config()).await;
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Running).await;
    f.cluster
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");
    f.wait_status(&ex.ex_id, Stopped).await;
    assert_eq!(f.outage.injected(StoreCall::GetExecution), TRIES);
}

#[tokio::test]
async fn marking_stopped_is_retried_through_store_errors() {
    let f = Faulty::plain().await;
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Running).await;
    let call = StoreCall::SetStatus(Stopped);
    f.outage.fail_next(call, TRIES);
    f.cluster
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");
    f.wait_status(&ex.ex_id, Stopped).await;
    assert_eq!(f.outage.injected(call), TRIES);
}

/// Graceful stops are ignored (the processes stay); force stops fail while `refuse` is set.
struct StubbornProcesses {
    refuse: AtomicBool,
    refused: AtomicU32,
}

#[async_trait]
impl BackendHooks for StubbornProcesses {
    async fn stop_execution(
        &self,
        inner: &dyn ClusterBackend,
        ex_id: &str,
        opts: &StopOptions,
    ) -> Result<(), BackendError> {
        if !opts.force {
            return Ok(());
        }
        if self.refuse.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(BackendError::Unreachable("scripted: cannot kill".into()));
        }
        inner.stop_execution(ex_id, opts).await
    }
}

#[tokio::test]
async fn a_failed_force_stop_keeps_the_execution_stopping_visibly_until_it_succeeds() {
    let hooks = |_, _| StubbornProcesses {
        refuse: AtomicBool::new(true),
        refused: AtomicU32::new(0),
    };
    let config = SchedulerConfig {
        shutdown_timeout: Duration::from_millis(50),
        ..config()
    };
    let outage = Arc::new(OutageStore::new());
    let store: Arc<dyn StateStore> = outage.clone();
    let mock = Arc::new(MockBackend::new(MockConfig::default()).with_store(store.clone()));
    let stubborn = Arc::new(ForwardingBackend::new(
        mock.clone(),
        hooks(mock.clone(), ()),
    ));
    let cluster = start_with(store, mock.clone(), stubborn.clone(), config).await;
    let f = Faulty { outage, cluster };
    let ex = f.submit().await;
    f.wait_status(&ex.ex_id, Running).await;
    f.cluster
        .scheduler
        .stop(&ex.ex_id, StopOptions::default())
        .await
        .expect("stop");

    wait_until(
        Duration::from_secs(20),
        "a second refused force stop",
        || async { stubborn.hooks().refused.load(Ordering::SeqCst) >= 2 },
    )
    .await;
    let stuck = f.record(&ex.ex_id).await;
    assert_eq!(stuck.status, Stopping, "processes are left: not stopped");
    assert!(
        stuck.failure_reason.contains("force stop") && stuck.failure_reason.contains("cannot kill"),
        "{}",
        stuck.failure_reason
    );
    assert_eq!(mock.execution_count(), 1);

    stubborn.hooks().refuse.store(false, Ordering::SeqCst);
    f.wait_status(&ex.ex_id, Stopped).await;
    assert_eq!(mock.execution_count(), 0, "stopped with processes left");
}
