//! Conformance checks for job records: create, get, update, list.
use serde_json::json;

use super::fixtures::{at, job, unique_id};
use super::Store;
use crate::store::{ListQuery, StoreError};

/// Create, get, duplicate create, full-replace update, unknown ids.
pub async fn job_create_get_update(store: Store) {
    let id = unique_id("job");
    let created = job(&id, at(0));
    store.create_job(&created).await.expect("create_job");
    assert_eq!(store.get_job(&id).await.expect("get_job"), created);

    let dup = store.create_job(&job(&id, at(5))).await;
    assert_eq!(
        dup,
        Err(StoreError::AlreadyExists {
            kind: "job",
            id: id.clone()
        }),
        "creating a job twice must be refused"
    );
    assert_eq!(store.get_job(&id).await.expect("get_job"), created);

    let mut updated = created.clone();
    updated.updated = at(60);
    updated.spec.insert("workers".into(), json!(7));
    updated.spec.insert("active".into(), json!(false));
    updated.spec.shift_remove("custom_key");
    store.update_job(&updated).await.expect("update_job");
    assert_eq!(
        store.get_job(&id).await.expect("get_job"),
        updated,
        "update_job is a full replace"
    );

    let missing = unique_id("missing-job");
    let err = store.get_job(&missing).await.expect_err("unknown job");
    assert_eq!(
        err,
        StoreError::NotFound {
            kind: "job",
            id: missing.clone()
        }
    );
    let err = store
        .update_job(&job(&missing, at(0)))
        .await
        .expect_err("update of an unknown job");
    assert!(err.is_not_found(), "{err}");
}

/// `list_jobs` is newest first (`_created` desc) with `from`/`size` paging.
pub async fn job_list_newest_first_with_paging(store: Store) {
    let ids: Vec<String> = (0..25)
        .map(|i| format!("{}-{i:02}", unique_id("j")))
        .collect();
    // Inserted out of order, so insertion order cannot pass for `_created` order.
    for i in [
        3, 0, 24, 12, 7, 1, 2, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
    ] {
        store
            .create_job(&job(&ids[i], at(i as i64 * 60)))
            .await
            .expect("create_job");
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let all = store.list_jobs(&ListQuery::default()).await.expect("list");
    let got: Vec<String> = all.iter().map(|j| j.job_id.clone()).collect();
    assert_eq!(got, newest_first, "list_jobs must be newest first");

    let mut paged = Vec::new();
    for from in [0, 10, 20] {
        let page = store
            .list_jobs(&ListQuery { from, size: 10 })
            .await
            .expect("list page");
        assert_eq!(
            page.len(),
            if from == 20 { 5 } else { 10 },
            "page from {from}"
        );
        paged.extend(page.into_iter().map(|j| j.job_id));
    }
    assert_eq!(paged, newest_first, "pages must tile the full list");

    let past_end = store
        .list_jobs(&ListQuery { from: 30, size: 10 })
        .await
        .expect("list past the end");
    assert!(past_end.is_empty(), "a page past the end is empty");
    let none = store
        .list_jobs(&ListQuery { from: 0, size: 0 })
        .await
        .expect("list size 0");
    assert!(none.is_empty(), "size 0 returns nothing");
}
