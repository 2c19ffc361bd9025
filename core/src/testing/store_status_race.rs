//! Conformance checks that `set_execution_status` is a compare-and-set under concurrency.
use std::sync::Arc;

use tokio::sync::Barrier;

use super::fixtures::{at, execution, unique_id};
use super::Store;
use crate::execution::StatusUpdate;
use crate::status::ExecutionStatus::{self, *};
use crate::store::{StoreError, StoreResult};

/// Runs one `set_execution_status(ex_id, target)` per target, all released at once.
async fn race(
    store: &Store,
    ex_id: &str,
    targets: &[ExecutionStatus],
) -> Vec<(ExecutionStatus, StoreResult<ExecutionStatus>)> {
    let barrier = Arc::new(Barrier::new(targets.len()));
    let mut tasks = Vec::new();
    for (i, &target) in targets.iter().enumerate() {
        let (store, barrier, ex_id) = (store.clone(), barrier.clone(), ex_id.to_string());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let update = StatusUpdate::failed(format!("writer {i}"));
            let result = store.set_execution_status(&ex_id, target, &update).await;
            (target, result.map(|ex| ex.status))
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("racing task panicked"));
    }
    results
}

/// Writers moving one running execution to different terminal statuses: exactly one wins.
pub async fn status_compare_and_set_one_winner(store: Store) {
    for round in 0..5 {
        let ex = execution(&unique_id("job"), Running, at(round));
        store.create_execution(&ex).await.expect("create");
        let targets = [Completed, Failed, Terminated, Rejected];
        let results = race(&store, &ex.ex_id, &targets).await;
        let winners: Vec<ExecutionStatus> = results
            .iter()
            .filter_map(|(t, r)| r.as_ref().ok().map(|_| *t))
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let stored = store.get_execution(&ex.ex_id).await.expect("get");
        assert_eq!(
            stored.status, winners[0],
            "the stored status is the winner's"
        );
        for (target, result) in &results {
            if *target != winners[0] {
                assert!(
                    matches!(result, Err(StoreError::Transition { source, .. }) if source.from == winners[0]),
                    "a loser is refused against the winner's stored status: {result:?}"
                );
            }
        }
    }
}

/// 20 writers race `running` -> `completed` (even) vs `failed` (odd): one status wins; every
/// writer that asked for it succeeds (same-status is allowed), every other is refused.
pub async fn status_compare_and_set_twenty_writers(store: Store) {
    let ex = execution(&unique_id("job"), Running, at(0));
    store.create_execution(&ex).await.expect("create");
    let targets: Vec<ExecutionStatus> = (0..20)
        .map(|i| if i % 2 == 0 { Completed } else { Failed })
        .collect();
    let results = race(&store, &ex.ex_id, &targets).await;
    let stored = store.get_execution(&ex.ex_id).await.expect("get");
    assert!(matches!(stored.status, Completed | Failed), "{stored:?}");
    for (target, result) in &results {
        if *target == stored.status {
            assert_eq!(result, &Ok(stored.status), "writers of the winning status");
        } else {
            assert!(
                matches!(result, Err(StoreError::Transition { source, .. }) if source.from == stored.status),
                "{target} must be refused once {} is stored: {result:?}",
                stored.status
            );
        }
    }
    let writer = stored
        .failure_reason
        .strip_prefix("writer ")
        .and_then(|n| n.parse::<usize>().ok());
    assert!(
        writer.is_some_and(|i| targets[i] == stored.status),
        "the stored failure reason is a winner's, not a refused writer's: {:?}",
        stored.failure_reason
    );
}
