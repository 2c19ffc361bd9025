//! Conformance checks for execution records: create, get, list, status rules, metadata.
use serde_json::{json, Map};

use super::fixtures::{at, execution, unique_id};
use super::Store;
use crate::execution::StatusUpdate;
use crate::status::{ExecutionStatus, InvalidTransition};
use crate::store::{ExecutionQuery, ListQuery, StoreError};

use ExecutionStatus::*;

/// Create, get, duplicate create, unknown id.
pub async fn execution_create_get(store: Store) {
    let ex = execution(&unique_id("job"), Pending, at(0));
    store.create_execution(&ex).await.expect("create_execution");
    assert_eq!(store.get_execution(&ex.ex_id).await.expect("get"), ex);

    let mut dup = ex.clone();
    dup.status = Running;
    assert_eq!(
        store.create_execution(&dup).await,
        Err(StoreError::AlreadyExists {
            kind: "execution",
            id: ex.ex_id.clone()
        })
    );
    assert_eq!(store.get_execution(&ex.ex_id).await.expect("get"), ex);

    let missing = unique_id("missing-ex");
    assert_eq!(
        store.get_execution(&missing).await,
        Err(StoreError::NotFound {
            kind: "execution",
            id: missing
        })
    );
}

fn ids(exs: &[crate::execution::ExecutionRecord]) -> Vec<String> {
    exs.iter().map(|e| e.ex_id.clone()).collect()
}

/// `list_executions` filters by job and statuses, newest first, with paging.
pub async fn execution_list_by_job_and_statuses(store: Store) {
    let (job_a, job_b) = (unique_id("job-a"), unique_id("job-b"));
    let plan = [
        (&job_a, Completed),
        (&job_b, Running),
        (&job_a, Failed),
        (&job_a, Running),
        (&job_b, Pending),
        (&job_a, Failing),
        (&job_a, Pending),
    ];
    let mut created = Vec::new();
    for (i, (job_id, status)) in plan.iter().enumerate() {
        let ex = execution(job_id, *status, at(i as i64 * 10));
        store.create_execution(&ex).await.expect("create_execution");
        created.push(ex);
    }
    let newest_first = |keep: &dyn Fn(&crate::execution::ExecutionRecord) -> bool| -> Vec<String> {
        created
            .iter()
            .rev()
            .filter(|e| keep(e))
            .map(|e| e.ex_id.clone())
            .collect()
    };
    let list = |job_id: Option<&String>, statuses: Vec<ExecutionStatus>, from, size| {
        let store = store.clone();
        let query = ExecutionQuery {
            job_id: job_id.cloned(),
            statuses,
            page: ListQuery { from, size },
        };
        async move {
            store
                .list_executions(&query)
                .await
                .expect("list_executions")
        }
    };

    let all = list(None, vec![], 0, 100).await;
    assert_eq!(
        ids(&all),
        newest_first(&|_| true),
        "every execution, newest first"
    );
    assert_eq!(
        all.first(),
        created.last(),
        "listed records are the stored ones"
    );

    let of_a = list(Some(&job_a), vec![], 0, 100).await;
    assert_eq!(ids(&of_a), newest_first(&|e| e.job_id == job_a));

    let running = list(None, vec![Running, Failing], 0, 100).await;
    assert_eq!(
        ids(&running),
        newest_first(&|e| matches!(e.status, Running | Failing))
    );

    let a_running = list(Some(&job_a), vec![Running, Failing], 0, 100).await;
    assert_eq!(
        ids(&a_running),
        newest_first(&|e| e.job_id == job_a && matches!(e.status, Running | Failing))
    );

    let page = list(Some(&job_a), vec![], 1, 2).await;
    let expected: Vec<String> = newest_first(&|e| e.job_id == job_a)
        .into_iter()
        .skip(1)
        .take(2)
        .collect();
    assert_eq!(ids(&page), expected, "from 1 size 2");

    let none = list(Some(&unique_id("no-such-job")), vec![], 0, 100).await;
    assert!(none.is_empty());
    let none = list(Some(&job_b), vec![Completed], 0, 100).await;
    assert!(none.is_empty());
}

/// `set_execution_status` checks the rules against the stored status; a refusal changes nothing.
pub async fn status_follows_transition_rules(store: Store) {
    let ex = execution(&unique_id("job"), Pending, at(0));
    store.create_execution(&ex).await.expect("create");
    for status in [
        Scheduling,
        Initializing,
        Running,
        Failing,
        Running,
        Paused,
        Running,
    ] {
        let got = store
            .set_execution_status(&ex.ex_id, status, &StatusUpdate::default())
            .await
            .unwrap_or_else(|e| panic!("-> {status}: {e}"));
        assert_eq!(got.status, status);
        assert_eq!(store.get_execution(&ex.ex_id).await.expect("get"), got);
    }

    let before = store.get_execution(&ex.ex_id).await.expect("get");
    let refused = store
        .set_execution_status(&ex.ex_id, Pending, &StatusUpdate::failed("must not stick"))
        .await;
    assert_eq!(
        refused,
        Err(StoreError::Transition {
            ex_id: ex.ex_id.clone(),
            to: Pending,
            source: InvalidTransition {
                from: Running,
                to: Pending
            },
        }),
        "running -> pending is refused"
    );
    assert_eq!(
        store.get_execution(&ex.ex_id).await.expect("get"),
        before,
        "a refused transition changes nothing, not even _failureReason"
    );

    store
        .set_execution_status(&ex.ex_id, Stopping, &StatusUpdate::default())
        .await
        .expect("running -> stopping");
    store
        .set_execution_status(&ex.ex_id, Stopped, &StatusUpdate::default())
        .await
        .expect("stopping -> stopped");
    store
        .set_execution_status(&ex.ex_id, Completed, &StatusUpdate::default())
        .await
        .expect("stopped -> completed is Teraslice's one exception for terminal statuses");
    for to in [Running, Failed, Stopped] {
        let err = store
            .set_execution_status(&ex.ex_id, to, &StatusUpdate::default())
            .await
            .expect_err("terminal");
        assert!(
            matches!(&err, StoreError::Transition { source, .. } if source.from == Completed),
            "completed -> {to}: {err}"
        );
    }
    assert_eq!(
        store.get_execution(&ex.ex_id).await.expect("get").status,
        Completed
    );

    let missing = unique_id("missing-ex");
    let err = store
        .set_execution_status(&missing, Running, &StatusUpdate::default())
        .await
        .expect_err("unknown execution");
    assert!(err.is_not_found(), "{err}");
}

/// The fields written with a status (Teraslice `setStatus(ex, status, extra)`) persist.
pub async fn status_update_fields_persist(store: Store) {
    let ex = execution(&unique_id("job"), Running, at(0));
    store.create_execution(&ex).await.expect("create");
    let mut stats = Map::new();
    stats.insert("processed".into(), json!(1200));
    stats.insert("failed".into(), json!(3));
    stats.insert("queuing_complete".into(), json!("2024-05-17T10:01:00.000Z"));
    let update = StatusUpdate {
        failure_reason: Some("slicer for ex had an error, shutting down execution\n  at x".into()),
        slicer_stats: Some(stats.clone()),
        slicer_hostname: Some("10.0.0.7".into()),
        slicer_port: Some(45680),
    };
    let got = store
        .set_execution_status(&ex.ex_id, Failed, &update)
        .await
        .expect("running -> failed");
    let stored = store.get_execution(&ex.ex_id).await.expect("get");
    assert_eq!(stored, got, "the returned record is the stored one");
    assert_eq!(stored.status, Failed);
    assert!(stored.has_errors, "a failure reason sets _has_errors");
    assert_eq!(Some(stored.failure_reason.clone()), update.failure_reason);
    assert_eq!(stored.slicer_stats, stats);
    assert_eq!(stored.slicer_hostname.as_deref(), Some("10.0.0.7"));
    assert_eq!(stored.slicer_port, Some(45680));
    assert!(stored.updated > ex.updated, "_updated moves forward");
    assert_eq!(stored.created, ex.created, "_created is kept");
    assert_eq!(stored.job, ex.job, "the job fields are kept");
}

/// `update_execution_metadata` replaces `metadata` and leaves the status alone.
pub async fn metadata_update(store: Store) {
    let ex = execution(&unique_id("job"), Initializing, at(0));
    store.create_execution(&ex).await.expect("create");
    store
        .set_execution_status(&ex.ex_id, Running, &StatusUpdate::default())
        .await
        .expect("-> running");
    let mut meta = Map::new();
    meta.insert(
        "slicer_0".into(),
        json!({"cursor": "2024-05-17T10:00:00Z", "n": 4}),
    );
    store
        .update_execution_metadata(&ex.ex_id, &meta)
        .await
        .expect("update metadata");
    let stored = store.get_execution(&ex.ex_id).await.expect("get");
    assert_eq!(stored.metadata, meta);
    assert_eq!(stored.status, Running, "a metadata write keeps the status");

    let mut next = Map::new();
    next.insert("slicer_0".into(), json!({"n": 5}));
    store
        .update_execution_metadata(&ex.ex_id, &next)
        .await
        .expect("update metadata again");
    assert_eq!(
        store.get_execution(&ex.ex_id).await.expect("get").metadata,
        next,
        "metadata is replaced, not merged"
    );

    let missing = unique_id("missing-ex");
    let err = store
        .update_execution_metadata(&missing, &meta)
        .await
        .expect_err("unknown execution");
    assert!(err.is_not_found(), "{err}");
}
