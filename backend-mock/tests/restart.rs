//! A master restart with executions in every non-terminal status: each ends adopted or failed.
mod common;

use common::{cluster, start};
use teraslice_backend_mock::MockConfig;
use teraslice_core::backend::ClusterBackend;
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::testing::sample_execution;
use teraslice_core::ExecutionStatus::{self, *};

#[tokio::test]
async fn restart_adopts_or_fails_every_living_execution() {
    let before = cluster(MockConfig::default()).await;
    let (store, mock) = (before.store.clone(), before.mock.clone());
    // Executions that were running with live controllers when the old master died.
    let running_alive = before.submit(1).await.ex_id;
    let paused_alive = before.submit(1).await.ex_id;
    let failing_alive = before.submit(1).await.ex_id;
    let running_dead = before.submit(1).await.ex_id;
    let stopping_with_procs = before.submit(2).await.ex_id;
    for id in [
        &running_alive,
        &paused_alive,
        &failing_alive,
        &running_dead,
        &stopping_with_procs,
    ] {
        before.wait_status(id, Running).await;
    }
    before.scheduler.shutdown();

    let set = |id: String, status: ExecutionStatus| {
        let store = store.clone();
        async move {
            store
                .set_execution_status(&id, status, &Default::default())
                .await
                .expect("set status")
        }
    };
    set(paused_alive.clone(), Paused).await;
    set(failing_alive.clone(), Failing).await;
    set(stopping_with_procs.clone(), Stopping).await;
    // A controller dies while no master is watching: its event is never seen.
    mock.kill_controller(&running_dead, Some(137));

    // Executions the old master had not finished allocating.
    let stored = |status: ExecutionStatus, workers: u32| {
        let store = store.clone();
        async move {
            let mut ex: ExecutionRecord = sample_execution("left-behind", workers);
            ex.status = status;
            store.create_execution(&ex).await.expect("create");
            ex
        }
    };
    let pending = stored(Pending, 1).await;
    let scheduling = stored(Scheduling, 1).await;
    let initializing = stored(Initializing, 2).await;
    // Its controller was created before the crash; the restart must adopt it, not add another.
    mock.allocate_execution_controller(&initializing)
        .await
        .expect("controller");

    let after = start(store.clone(), mock.clone(), mock.clone()).await;
    for id in [
        &pending.ex_id,
        &scheduling.ex_id,
        &initializing.ex_id,
        &running_alive,
    ] {
        after.wait_status(id, Running).await;
    }
    after.wait_status(&running_dead, Failed).await;
    after.wait_status(&stopping_with_procs, Stopped).await;
    assert_eq!(after.status(&paused_alive).await, Paused);
    assert_eq!(after.status(&failing_alive).await, Failing);

    let dead = store.get_execution(&running_dead).await.expect("stored");
    assert!(
        dead.failure_reason.contains("no longer running"),
        "{}",
        dead.failure_reason
    );
    let state = mock.cluster_state().await.expect("state");
    let ecs_of_initializing = teraslice_core::backend::processes_of(&state, &initializing.ex_id)
        .filter(|p| p.assignment == teraslice_core::backend::Assignment::ExecutionController)
        .count();
    assert_eq!(
        ecs_of_initializing, 1,
        "the half-allocated execution kept its one controller"
    );
    assert_eq!(
        teraslice_core::backend::processes_of(&state, &stopping_with_procs).count(),
        0
    );
}
