//! Worker counts and slots: add/remove/set, readiness, and workers queued until a slot frees.
mod common;

use common::{alive, fixture, next_event, GRACEFUL};
use teraslice_core::backend::{EventKind, Readiness};
use teraslice_core::testing::sample_execution;
use teraslice_core::{BackendError, ClusterBackend};

#[tokio::test]
async fn add_remove_and_set_change_the_running_workers() {
    let f = fixture(GRACEFUL, 8);
    let ex = f.allocate(1).await;

    let added = f.backend.add_workers(&ex, 2).await.unwrap();
    assert_eq!((added.action.as_str(), added.worker_num), ("enqueued", 2));
    let workers = f.worker_pids(&ex.ex_id).await;
    assert_eq!(workers.len(), 3);

    let removed = f.backend.remove_workers(&ex.ex_id, 2).await.unwrap();
    assert_eq!((removed.action.as_str(), removed.worker_num), ("remove", 2));
    let left = f.worker_pids(&ex.ex_id).await;
    assert_eq!(left.len(), 1);
    let gone: Vec<u32> = workers.into_iter().filter(|p| !left.contains(p)).collect();
    assert!(
        gone.iter().all(|p| !alive(*p)),
        "removed workers {gone:?} exited"
    );
    assert!(alive(left[0]));

    for total in [4, 2, 2] {
        let set = f.backend.set_workers(&ex, total).await.unwrap();
        assert_eq!((set.action.as_str(), set.worker_num), ("set", total));
        assert_eq!(f.worker_pids(&ex.ex_id).await.len(), total as usize);
    }
    let err = f.backend.set_workers(&ex, 0).await.unwrap_err();
    assert!(matches!(err, BackendError::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn removing_every_worker_is_refused_with_the_limit() {
    let f = fixture(GRACEFUL, 6);
    let ex = f.allocate(2).await;
    let err = f.backend.remove_workers(&ex.ex_id, 2).await.unwrap_err();
    let BackendError::InvalidRequest(msg) = &err else {
        panic!("expected InvalidRequest, got {err:?}");
    };
    assert!(
        msg.contains("workers to be removed: 2 cannot be >= to current workers: 2"),
        "{msg}"
    );
    assert!(msg.contains("at most 1"), "{msg}");
    assert_eq!(
        f.worker_pids(&ex.ex_id).await.len(),
        2,
        "nothing was removed"
    );
}

#[tokio::test]
async fn scaling_an_unknown_execution_names_it() {
    let f = fixture(GRACEFUL, 4);
    let ex = sample_execution("never-allocated", 1);
    let err = f.backend.remove_workers(&ex.ex_id, 1).await.unwrap_err();
    assert_eq!(err, BackendError::UnknownExecution(ex.ex_id.clone()));
    let err = f.backend.add_workers(&ex, 1).await.unwrap_err();
    assert!(err.to_string().contains(&ex.ex_id), "{err}");
}

#[tokio::test]
async fn readiness_needs_room_for_a_controller_and_a_worker() {
    let f = fixture(GRACEFUL, 4);
    assert_eq!(f.backend.ready_for_allocation().await, Readiness::Ready);
    let _a = f.allocate(1).await;
    assert_eq!(f.backend.ready_for_allocation().await, Readiness::Ready);
    let b = sample_execution("b", 1);
    f.backend.allocate_execution_controller(&b).await.unwrap();
    let Readiness::NotReady { reason } = f.backend.ready_for_allocation().await else {
        panic!("3 of 4 slots in use leaves no room for an execution");
    };
    assert!(reason.contains("3 of 4 in use"), "{reason}");
    f.backend.allocate_workers(&b, 1).await.unwrap();
    let Readiness::NotReady { reason } = f.backend.ready_for_allocation().await else {
        panic!("a full node is not ready");
    };
    assert!(reason.contains("no free slots: 4 of 4 in use"), "{reason}");
}

#[tokio::test]
async fn a_controller_needs_a_free_slot() {
    let f = fixture(GRACEFUL, 2);
    let _a = f.allocate(1).await;
    let b = sample_execution("b", 1);
    let err = f
        .backend
        .allocate_execution_controller(&b)
        .await
        .unwrap_err();
    let BackendError::NoCapacity(msg) = &err else {
        panic!("expected NoCapacity (the scheduler retries), got {err:?}");
    };
    assert!(
        msg.contains(&b.ex_id) && msg.contains("2 of 2 in use"),
        "{msg}"
    );
}

#[tokio::test]
async fn workers_beyond_free_slots_wait_and_start_when_a_slot_frees() {
    let f = fixture(GRACEFUL, 3);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(4).await;
    let running = f.worker_pids(&ex.ex_id).await;
    assert_eq!(running.len(), 2, "EC + 2 workers fill 3 slots");
    let state = f.backend.cluster_state().await.unwrap();
    assert_eq!(state["127.0.0.1"].available, Some(0));

    // Two running plus two queued: removing one takes a queued one, no process stops.
    f.backend.remove_workers(&ex.ex_id, 1).await.unwrap();
    assert!(running.iter().all(|p| alive(*p)));

    // A clean exit (a crash would be replaced first, see `a_crashed_worker_is_replaced`).
    std::process::Command::new("kill")
        .args(["-TERM", &running[0].to_string()])
        .status()
        .unwrap();
    next_event(
        &mut events,
        &ex.ex_id,
        |k| matches!(k, EventKind::WorkerStarted { worker_id } if worker_id == "worker-3"),
    )
    .await;
    let now = f.worker_pids(&ex.ex_id).await;
    assert_eq!(
        now.len(),
        2,
        "the queued worker took the freed slot: {now:?}"
    );
    assert!(!now.contains(&running[0]));
    // The queue is empty now: a second freed slot stays free.
    f.backend.remove_workers(&ex.ex_id, 1).await.unwrap();
    let state = f.backend.cluster_state().await.unwrap();
    assert_eq!(state["127.0.0.1"].available, Some(1));
}

#[tokio::test]
async fn controllers_never_share_a_port_and_wait_when_none_is_left() {
    // Below Linux's ephemeral ports, so no outgoing connection takes it between probe and use.
    // A random start, so tests elsewhere probing ports in order rarely meet this one.
    let from = 19000 + (uuid::Uuid::new_v4().as_u128() % 900) as u16;
    let port = (from..from + 100)
        .find(|p| std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok())
        .unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut cfg = common::config(GRACEFUL, 6, logs.path());
    cfg.slicer_port_range = teraslice_backend_native::PortRange {
        start: port - 1,
        end: port,
    };
    let backend = teraslice_backend_native::NativeBackend::new(cfg).unwrap();
    let a = sample_execution("a", 1);
    let addr = backend.allocate_execution_controller(&a).await.unwrap();
    assert_eq!(addr.port, port);
    let b = sample_execution("b", 1);
    let err = backend.allocate_execution_controller(&b).await.unwrap_err();
    let BackendError::NoCapacity(msg) = &err else {
        panic!("expected NoCapacity, got {err:?}");
    };
    assert!(msg.contains(&format!("{}:{port}", port - 1)), "{msg}");
    // The port comes back when its controller is gone.
    let stop = teraslice_core::backend::StopOptions::default();
    backend.stop_execution(&a.ex_id, &stop).await.unwrap();
    assert_eq!(
        backend
            .allocate_execution_controller(&b)
            .await
            .unwrap()
            .port,
        port
    );
}

#[tokio::test]
async fn a_crashed_worker_is_replaced() {
    let f = fixture(GRACEFUL, 4);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(2).await;
    let running = f.worker_pids(&ex.ex_id).await;
    assert_eq!(running.len(), 2);
    std::process::Command::new("kill")
        .args(["-9", &running[0].to_string()])
        .status()
        .unwrap();
    next_event(
        &mut events,
        &ex.ex_id,
        |k| matches!(k, EventKind::WorkerStarted { worker_id } if worker_id == "worker-3"),
    )
    .await;
    let now = f.worker_pids(&ex.ex_id).await;
    assert_eq!(now.len(), 2, "the crashed worker was replaced: {now:?}");
    assert!(!now.contains(&running[0]));
}
