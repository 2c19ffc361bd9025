//! A controller that records `running` before the master records `initializing` (a fast native
//! EC process) keeps running, gets its address recorded and its workers.
mod common;

use std::sync::Arc;

use async_trait::async_trait;
use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::backend::{ClusterBackend, ControllerAddress};
use teraslice_core::execution::{ExecutionRecord, StatusUpdate};
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::testing::{BackendHooks, ForwardingBackend};
use teraslice_core::{BackendError, ExecutionStatus};

/// The mock, but its controller marks the execution `running` as soon as it is started.
struct FastController {
    store: Arc<dyn StateStore>,
}

#[async_trait]
impl BackendHooks for FastController {
    async fn allocate_execution_controller(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        let addr = inner.allocate_execution_controller(ex).await?;
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
}

#[tokio::test]
async fn a_controller_already_running_is_kept_with_its_address_and_workers() {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mock = Arc::new(MockBackend::new(MockConfig::default()));
    // Not `with_store`: only the wrapper records `running`.
    let backend = Arc::new(ForwardingBackend::new(
        mock.clone(),
        FastController {
            store: store.clone(),
        },
    ));
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
