//! A controller that records `running` before the master records `initializing` (a fast native
//! EC process) keeps running, gets its address recorded and its workers.
mod common;

use std::sync::Arc;

use async_trait::async_trait;
use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::backend::{
    BackendEvent, Capabilities, ClusterBackend, ClusterState, ControllerAddress, Readiness,
    StopOptions, WorkerChange,
};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::{ExecutionRecord, StatusUpdate};
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::{BackendError, ExecutionStatus};
use tokio::sync::broadcast;

/// The mock, but its controller marks the execution `running` as soon as it is started.
struct FastController {
    inner: Arc<MockBackend>,
    store: Arc<dyn StateStore>,
}

#[async_trait]
impl ClusterBackend for FastController {
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
        let addr = self.inner.allocate_execution_controller(ex).await?;
        self.store
            .set_execution_status(
                &ex.ex_id,
                ExecutionStatus::Running,
                &StatusUpdate::default(),
            )
            .await
            .map_err(|e| BackendError::Other(e.to_string()))?;
        Ok(addr)
    }
    async fn allocate_workers(&self, ex: &ExecutionRecord, n: u32) -> Result<(), BackendError> {
        self.inner.allocate_workers(ex, n).await
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
        self.inner.stop_execution(ex_id, opts).await
    }
    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        self.inner.cluster_state().await
    }
    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.inner.subscribe()
    }
}

#[tokio::test]
async fn a_controller_already_running_is_kept_with_its_address_and_workers() {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mock = Arc::new(MockBackend::new(MockConfig::default()));
    let backend = Arc::new(FastController {
        inner: mock.clone(),
        store: store.clone(),
    });
    let c = common::start(store, mock.clone(), backend).await;
    let ex = c.submit(3).await;
    c.wait_status(&ex.ex_id, ExecutionStatus::Running).await;
    teraslice_core::testing::wait_until(
        std::time::Duration::from_secs(20),
        "three workers",
        || async {
            let state = mock.cluster_state().await.expect("state");
            teraslice_core::backend::processes_of(&state, &ex.ex_id).count() == 4
        },
    )
    .await;
    let stored = c.store.get_execution(&ex.ex_id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Running);
    assert!(
        stored.slicer_port.is_some(),
        "the controller's address is recorded"
    );
}
