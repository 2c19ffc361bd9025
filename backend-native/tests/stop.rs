//! Stopping: SIGTERM to each process group, SIGKILL after the timeout or at once with `force`;
//! nothing of the execution survives, grandchildren included.
mod common;

use common::{alive, fixture, next_event, GRACEFUL, GRANDPARENT, STUBBORN};
use teraslice_core::backend::{EventKind, StopOptions};
use teraslice_core::ClusterBackend;

fn exit_reasons_of(kinds: &[EventKind]) -> Vec<(Option<i32>, String)> {
    kinds
        .iter()
        .filter_map(|k| match k {
            EventKind::ControllerExited { code, reason }
            | EventKind::WorkerExited { code, reason, .. } => Some((*code, reason.clone())),
            _ => None,
        })
        .collect()
}

/// Every event of `ex_id` up to and including `Stopped`.
async fn events_until_stopped(
    events: &mut tokio::sync::broadcast::Receiver<teraslice_core::BackendEvent>,
    ex_id: &str,
) -> Vec<EventKind> {
    let mut seen = Vec::new();
    loop {
        let kind = next_event(events, ex_id, |_| true).await;
        let done = kind == EventKind::Stopped;
        seen.push(kind);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn graceful_stop_lets_processes_exit_cleanly_on_sigterm() {
    let f = fixture(GRACEFUL, 6);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(2).await;
    f.wait_ready(&ex.ex_id, 2).await;
    let pids = f.pids(&ex.ex_id).await;

    f.backend
        .stop_execution(&ex.ex_id, &StopOptions::default())
        .await
        .unwrap();
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "no process of {pids:?} is left"
    );
    let seen = events_until_stopped(&mut events, &ex.ex_id).await;
    let exits = exit_reasons_of(&seen);
    assert_eq!(exits.len(), 3, "{seen:?}");
    for (code, reason) in exits {
        assert_eq!(code, Some(0), "{reason}");
        assert!(reason.contains("after a stop request"), "{reason}");
    }
}

#[tokio::test]
async fn processes_ignoring_sigterm_are_killed_after_the_timeout() {
    let f = fixture(STUBBORN, 6);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(1).await;
    f.wait_ready(&ex.ex_id, 1).await;
    let pids = f.pids(&ex.ex_id).await;

    let opts = StopOptions {
        timeout_ms: Some(300),
        ..StopOptions::default()
    };
    f.backend.stop_execution(&ex.ex_id, &opts).await.unwrap();
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "no process of {pids:?} is left"
    );
    let exits = exit_reasons_of(&events_until_stopped(&mut events, &ex.ex_id).await);
    assert_eq!(exits.len(), 2);
    for (code, reason) in exits {
        assert_eq!(code, None);
        assert!(reason.contains("SIGKILL"), "{reason}");
    }
}

#[tokio::test]
async fn force_stop_kills_without_asking() {
    let f = fixture(GRACEFUL, 6);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(1).await;
    f.log_containing(&ex.ex_id, "ec", "ready").await;
    let pids = f.pids(&ex.ex_id).await;

    let force = StopOptions {
        force: true,
        ..StopOptions::default()
    };
    f.backend.stop_execution(&ex.ex_id, &force).await.unwrap();
    assert!(pids.iter().all(|p| !alive(*p)));
    let exits = exit_reasons_of(&events_until_stopped(&mut events, &ex.ex_id).await);
    assert!(!exits.is_empty());
    assert!(
        exits.iter().all(|(_, r)| r.contains("SIGKILL")),
        "processes that would exit on SIGTERM got SIGKILL: {exits:?}"
    );
}

async fn grandchild_is_gone_after(force: bool) {
    let f = fixture(GRANDPARENT, 4);
    let ex = f.allocate(1).await;
    let log = f.log_containing(&ex.ex_id, "ec", "ready").await;
    let grandchild: u32 = log
        .lines()
        .find_map(|l| l.strip_prefix("grandchild "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(grandchild));
    let opts = StopOptions {
        force,
        ..StopOptions::default()
    };
    f.backend.stop_execution(&ex.ex_id, &opts).await.unwrap();
    assert!(!alive(grandchild), "grandchild {grandchild} survived");
}

#[tokio::test]
async fn graceful_stop_leaves_no_grandchild() {
    grandchild_is_gone_after(false).await;
}

#[tokio::test]
async fn force_stop_leaves_no_grandchild() {
    grandchild_is_gone_after(true).await;
}

#[tokio::test]
async fn stopping_an_unknown_or_stopped_execution_succeeds() {
    let f = fixture(GRACEFUL, 4);
    let opts = StopOptions::default();
    f.backend.stop_execution("no-such-ex", &opts).await.unwrap();
    let ex = f.allocate(1).await;
    f.backend.stop_execution(&ex.ex_id, &opts).await.unwrap();
    f.backend.stop_execution(&ex.ex_id, &opts).await.unwrap();
    assert!(f.pids(&ex.ex_id).await.is_empty());
}

#[tokio::test]
async fn a_stop_excluding_this_node_leaves_its_processes() {
    let f = fixture(GRACEFUL, 4);
    let ex = f.allocate(1).await;
    let opts = StopOptions {
        exclude_node: Some("127.0.0.1".to_string()),
        ..StopOptions::default()
    };
    f.backend.stop_execution(&ex.ex_id, &opts).await.unwrap();
    let pids = f.pids(&ex.ex_id).await;
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|p| alive(*p)));
}

#[tokio::test]
async fn shutdown_stops_every_execution_and_refuses_new_ones() {
    let f = fixture(GRACEFUL, 6);
    let a = f.allocate(1).await;
    let b = f.allocate(2).await;
    let mut pids = f.pids(&a.ex_id).await;
    pids.extend(f.pids(&b.ex_id).await);
    assert_eq!(pids.len(), 5);
    f.backend.shutdown().await.unwrap();
    assert!(pids.iter().all(|p| !alive(*p)));
    let again = f
        .backend
        .allocate_execution_controller(&teraslice_core::testing::sample_execution("late", 1))
        .await;
    assert!(
        matches!(&again, Err(teraslice_core::BackendError::Allocation(m)) if m.contains("shut down")),
        "{again:?}"
    );
}
