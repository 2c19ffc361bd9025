//! An execution whose pods fit no node fails with Kubernetes' reason, and nothing is left
//! (Teraslice #1395, #2141).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use teraslice_core::backend::EventKind;
use teraslice_core::job::Target;
use teraslice_core::scheduler::{ControllerClient, ControllerError, SchedulerConfig};
use teraslice_core::store::MemoryStore;
use teraslice_core::testing::sample_job;
use teraslice_core::{ClusterBackend, ExecutionRecord, ExecutionStatus, Scheduler, StateStore};

use super::support::*;

struct NoControllers;

#[async_trait]
impl ControllerClient for NoControllers {
    async fn pause(&self, _: &ExecutionRecord) -> Result<(), ControllerError> {
        Ok(())
    }
    async fn resume(&self, _: &ExecutionRecord) -> Result<(), ControllerError> {
        Ok(())
    }
    async fn stats(&self, _: &ExecutionRecord) -> Result<Value, ControllerError> {
        Ok(Value::Null)
    }
    async fn set_log_level(&self, _: &ExecutionRecord, _: &str) -> Result<(), ControllerError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_matching_no_node_fail_the_execution_and_leave_nothing() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-unsched").await;
    let config = system_config(
        &ns.name,
        "unsched",
        "  kubernetes_unschedulable_timeout: 2000\n",
    );
    let b = backend(client.clone(), &config).await;
    let mut events = b.subscribe();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let backend: Arc<dyn ClusterBackend> = b.clone();
    let scheduler = Scheduler::new(
        store.clone(),
        backend,
        Arc::new(NoControllers),
        SchedulerConfig::default(),
    );
    scheduler.start().await.expect("scheduler");

    let mut job = sample_job("nowhere-job", 2);
    job.targets = vec![Target {
        key: "zone".into(),
        value: "nowhere".into(),
        constraint: None,
    }];
    let ex = scheduler
        .create_execution("11111111-1111-4111-8111-111111111111", job)
        .await
        .expect("create");

    let reason = tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(e) if e.ex_id == ex.ex_id => {
                    if let EventKind::Unschedulable { reason } = e.kind {
                        return reason;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("an Unschedulable event");
    assert!(
        reason.contains("node affinity"),
        "the scheduler's reason is passed on: {reason}"
    );

    let failed = eventually("the execution to fail", || async {
        let e = store.get_execution(&ex.ex_id).await.ok()?;
        (e.status == ExecutionStatus::Failed).then_some(e)
    })
    .await;
    assert!(
        failed.failure_reason.contains("cannot be scheduled"),
        "{}",
        failed.failure_reason
    );
    assert!(
        failed.failure_reason.contains("node affinity"),
        "{}",
        failed.failure_reason
    );
    wait_all_gone(&client, &ns.name, &ex.ex_id).await;
    scheduler.shutdown();
    tokio::time::sleep(Duration::from_millis(10)).await;
}
