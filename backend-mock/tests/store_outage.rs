//! A controller that exits while the state store is unreachable still fails its execution once
//! the store returns: the scheduler's backend event waits for the store instead of being lost.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::start;
use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::store::StateStore;
use teraslice_core::testing::OutageStore;
use teraslice_core::ExecutionStatus::{Failed, Running};

#[tokio::test]
async fn a_controller_exit_during_a_store_outage_fails_the_execution_when_the_store_returns() {
    let outage = Arc::new(OutageStore::new());
    let store: Arc<dyn StateStore> = outage.clone();
    let mock = Arc::new(MockBackend::new(MockConfig::default()).with_store(store.clone()));
    let c = start(store, mock.clone(), mock).await;
    let ex = c.submit(1).await;
    c.wait_status(&ex.ex_id, Running).await;

    outage.set_down(true);
    c.mock.kill_controller(&ex.ex_id, Some(1));
    // Long enough for the event to meet the outage; the status cannot change meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    outage.set_down(false);

    c.wait_status(&ex.ex_id, Failed).await;
    let stored = outage.inner.get_execution(&ex.ex_id).await;
    let reason = stored.map(|e| e.failure_reason).unwrap_or_default();
    assert!(
        reason.contains("execution controller exited (code 1)"),
        "{reason}"
    );
}
