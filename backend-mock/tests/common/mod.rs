//! Shared set-up for the scheduler tests: a scheduler on the mock backend (or on a wrapper of it)
//! and a memory store.
#![allow(dead_code)]
use std::sync::Arc;
use std::time::Duration;

use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::scheduler::SchedulerConfig;
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::testing::{sample_job, wait_until, BackendHooks, ForwardingBackend};
use teraslice_core::{ClusterBackend, ExecutionStatus, Scheduler};

pub struct Cluster {
    pub store: Arc<dyn StateStore>,
    pub mock: Arc<MockBackend>,
    pub scheduler: Arc<Scheduler>,
}

pub fn config() -> SchedulerConfig {
    SchedulerConfig {
        allocation_concurrency: 8,
        shutdown_timeout: Duration::from_secs(30),
        stop_poll: Duration::from_millis(20),
        retry_interval: Duration::from_millis(20),
    }
}

pub async fn cluster(mock: MockConfig) -> Cluster {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mock = Arc::new(MockBackend::new(mock).with_store(store.clone()));
    start(store, mock.clone(), mock).await
}

/// A scheduler over the mock (whose controllers record `running` in the store) seen through the
/// hooks `hooks` builds from it; returns the wrapper too, for reaching the hooks.
pub async fn wrapped<H: BackendHooks + 'static>(
    mock: MockConfig,
    hooks: impl FnOnce(Arc<MockBackend>) -> H,
) -> (Cluster, Arc<ForwardingBackend<H>>) {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mock = Arc::new(MockBackend::new(mock).with_store(store.clone()));
    let backend = Arc::new(ForwardingBackend::new(mock.clone(), hooks(mock.clone())));
    (start(store, mock, backend.clone()).await, backend)
}

/// A scheduler over `backend` (which may wrap `mock`).
pub async fn start(
    store: Arc<dyn StateStore>,
    mock: Arc<MockBackend>,
    backend: Arc<dyn ClusterBackend>,
) -> Cluster {
    start_with(store, mock, backend, config()).await
}

/// [`start`] with a scheduler configured by `config`.
pub async fn start_with(
    store: Arc<dyn StateStore>,
    mock: Arc<MockBackend>,
    backend: Arc<dyn ClusterBackend>,
    config: SchedulerConfig,
) -> Cluster {
    let scheduler = Scheduler::new(store.clone(), backend, mock.clone(), config);
    scheduler.start().await.expect("scheduler starts");
    Cluster {
        store,
        mock,
        scheduler,
    }
}

impl Cluster {
    pub async fn submit(&self, workers: u32) -> ExecutionRecord {
        let job_id = uuid::Uuid::new_v4().to_string();
        self.scheduler
            .create_execution(&job_id, sample_job("test", workers))
            .await
            .expect("create execution")
    }

    pub async fn status(&self, ex_id: &str) -> ExecutionStatus {
        self.store
            .get_execution(ex_id)
            .await
            .expect("execution exists")
            .status
    }

    pub async fn wait_status(&self, ex_id: &str, want: ExecutionStatus) {
        let what = format!("{ex_id} to be {want}");
        wait_until(Duration::from_secs(20), &what, || async {
            self.status(ex_id).await == want
        })
        .await;
    }
}
