//! Conformance checks of the store's compare-and-sets the jobs service relies on: one living
//! execution per job (`create_execution_exclusive`) and job replaces that lose no update
//! (`update_job_if_unchanged`).
use std::sync::Arc;

use tokio::sync::Barrier;

use super::fixtures::{at, execution, job, unique_id};
use super::Store;
use crate::execution::{ExecutionRecord, StatusUpdate};
use crate::status::ExecutionStatus::*;
use crate::store::{ExecutionQuery, ListQuery, StoreError, StoreResult};

/// Contenders in each race: as many `_start`s as a busy client fires at once.
const CONTENDERS: usize = 50;

/// `CONTENDERS` exclusive creates for one job, all released at once.
async fn race(store: &Store, job_id: &str) -> Vec<StoreResult<ExecutionRecord>> {
    let barrier = Arc::new(Barrier::new(CONTENDERS));
    let mut tasks = Vec::new();
    for i in 0..CONTENDERS {
        let (store, barrier) = (store.clone(), barrier.clone());
        let ex = execution(job_id, Pending, at(i as i64));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.create_execution_exclusive(&ex).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("racing task panicked"));
    }
    results
}

/// The single winner of a race; every loser is refused naming it.
fn one_winner(results: &[StoreResult<ExecutionRecord>], round: &str) -> ExecutionRecord {
    let winners: Vec<&ExecutionRecord> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{round}: {} winners", winners.len());
    let winner = winners[0].clone();
    for r in results {
        if let Err(e) = r {
            assert!(
                matches!(e, StoreError::ActiveExecution { ex_id, .. } if *ex_id == winner.ex_id),
                "{round}: a loser is refused with the winner's execution: {e:?}"
            );
        }
    }
    winner
}

async fn executions_of(store: &Store, job_id: &str) -> Vec<ExecutionRecord> {
    let query = ExecutionQuery {
        job_id: Some(job_id.to_string()),
        statuses: vec![],
        page: ListQuery {
            from: 0,
            size: 1000,
        },
    };
    store.list_executions(&query).await.expect("list")
}

/// 50 concurrent creates for a job make exactly one execution; once it has ended, the next race
/// makes exactly one more; a create while one lives is refused.
pub async fn exclusive_create_one_living_execution_per_job(store: Store) {
    let job_id = unique_id("job");
    let first = one_winner(&race(&store, &job_id).await, "first race");
    let stored = store.get_execution(&first.ex_id).await.expect("get winner");
    assert_eq!(stored.job_id, job_id);
    assert_eq!(stored.status, Pending);
    assert_eq!(executions_of(&store, &job_id).await.len(), 1);

    let running = store
        .set_execution_status(&first.ex_id, Running, &StatusUpdate::default())
        .await
        .expect("running");
    let refused = store
        .create_execution_exclusive(&execution(&job_id, Pending, at(100)))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::ActiveExecution { ex_id, status: Running, .. }) if *ex_id == running.ex_id),
        "{refused:?}"
    );

    store
        .set_execution_status(&first.ex_id, Completed, &StatusUpdate::default())
        .await
        .expect("completed");
    let second = one_winner(&race(&store, &job_id).await, "second race");
    assert_ne!(second.ex_id, first.ex_id);
    assert_eq!(executions_of(&store, &job_id).await.len(), 2);

    // Other jobs are not affected.
    let other = unique_id("job");
    let created = store
        .create_execution_exclusive(&execution(&other, Pending, at(0)))
        .await;
    assert!(created.is_ok(), "{created:?}");
}

/// Of two replaces from the same read, the first lands and the second is a `Conflict`.
pub async fn job_update_if_unchanged_is_compare_and_set(store: Store) {
    let job_id = unique_id("job");
    let read = job(&job_id, at(0));
    store.create_job(&read).await.expect("create");
    let read = store.get_job(&job_id).await.expect("get");
    let mut first = read.clone();
    first.spec.insert("active".into(), false.into());
    first.updated = at(1);
    let mut second = read.clone();
    second.spec.insert("workers".into(), 7.into());
    second.updated = at(2);
    store
        .update_job_if_unchanged(&first, &read)
        .await
        .expect("first replace");
    let lost = store.update_job_if_unchanged(&second, &read).await;
    assert!(
        matches!(&lost, Err(StoreError::Conflict { id, .. }) if *id == job_id),
        "{lost:?}"
    );
    let stored = store.get_job(&job_id).await.expect("get");
    assert_eq!(stored, first);
    let missing = job(&unique_id("job"), at(0));
    let err = store.update_job_if_unchanged(&missing, &missing).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");
}
