//! Conformance checks for slice state records (bulk writes, counts, listing) and analytics.
use std::collections::HashMap;

use super::fixtures::{analytics, at, slice, unique_id};
use super::Store;
use crate::store::{SliceQuery, SliceState, SliceStateRecord};

use SliceState::*;

const SLICES: u64 = 10_000;

async fn counts(store: &Store, ex_id: &str) -> HashMap<Option<SliceState>, u64> {
    let mut out = HashMap::new();
    for state in [
        None,
        Some(Pending),
        Some(Start),
        Some(Error),
        Some(Completed),
    ] {
        let n = store
            .count_slice_states(ex_id, state)
            .await
            .expect("count_slice_states");
        out.insert(state, n);
    }
    out
}

/// 10,000 `pending` records in one bulk write, then a subset updated by `slice_id`.
pub async fn slice_states_bulk_write_and_update(store: Store) {
    let (ex_id, other_ex) = (unique_id("ex"), unique_id("ex-other"));
    let pending: Vec<SliceStateRecord> = (0..SLICES).map(|n| slice(&ex_id, n, Pending)).collect();
    store
        .write_slice_states(&pending)
        .await
        .expect("bulk write");
    let other: Vec<SliceStateRecord> = (0..100).map(|n| slice(&other_ex, n, Pending)).collect();
    store.write_slice_states(&other).await.expect("bulk write");

    let c = counts(&store, &ex_id).await;
    assert_eq!((c[&None], c[&Some(Pending)]), (SLICES, SLICES));
    assert_eq!(c[&Some(Completed)], 0);

    // Workers' updates: start, then completed (with retries) or error (with the stack).
    let mut updates = Vec::new();
    for n in 0..4_000u64 {
        let mut r = slice(&ex_id, n, Completed);
        r.updated = at(100_000 + n as i64);
        if n < 700 {
            r.state = Error;
            r.error = Some(format!(
                "Error: slice {n} failed\n    at fetcher (op.js:1:1)"
            ));
            r.retry_count = Some(3);
        } else if n < 1_000 {
            r.state = Start;
        } else if n % 10 == 0 {
            r.retry_count = Some(1);
        }
        updates.push(r);
    }
    store
        .write_slice_states(&updates)
        .await
        .expect("bulk update");

    let c = counts(&store, &ex_id).await;
    assert_eq!(c[&None], SLICES, "updates by slice_id add no records");
    assert_eq!(c[&Some(Error)], 700);
    assert_eq!(c[&Some(Start)], 300);
    assert_eq!(c[&Some(Completed)], 3_000);
    assert_eq!(c[&Some(Pending)], SLICES - 4_000);
    let c = counts(&store, &other_ex).await;
    assert_eq!(
        (c[&None], c[&Some(Pending)]),
        (100, 100),
        "other executions untouched"
    );

    let errors = store
        .list_slice_states(&SliceQuery {
            states: vec![Error],
            ..SliceQuery::all(&ex_id)
        })
        .await
        .expect("list errors");
    assert_eq!(errors.len(), 700);
    let mut written_errors = updates[..700].to_vec();
    written_errors.sort_by_key(|r| (r.slicer_id, r.slicer_order));
    assert_eq!(errors, written_errors, "error records read back as written");

    let everything = store
        .list_slice_states(&SliceQuery::all(&ex_id))
        .await
        .expect("list all");
    assert_eq!(everything.len() as u64, SLICES);
    let by_id: HashMap<&str, &SliceStateRecord> = everything
        .iter()
        .map(|r| (r.slice_id.as_str(), r))
        .collect();
    for r in updates.iter().chain(&pending[4_000..]) {
        assert_eq!(by_id.get(r.slice_id.as_str()), Some(&r), "{}", r.slice_id);
    }

    let empty = unique_id("ex-none");
    assert_eq!(
        store.count_slice_states(&empty, None).await.expect("count"),
        0
    );
    let listed = store.list_slice_states(&SliceQuery::all(&empty)).await;
    assert!(listed.expect("list").is_empty());
}

/// Listing by state is ordered by (slicer_id, slicer_order) and pages tile the full list.
pub async fn slice_states_list_by_state_with_paging(store: Store) {
    let ex_id = unique_id("ex");
    let records: Vec<SliceStateRecord> = (0..250u64)
        .map(|n| slice(&ex_id, n, [Pending, Start, Completed][(n % 3) as usize]))
        .collect();
    store.write_slice_states(&records).await.expect("write");
    let query = |from, size| SliceQuery {
        ex_id: ex_id.clone(),
        states: vec![Pending, Start],
        from,
        size,
    };
    let mut expected: Vec<SliceStateRecord> = records
        .iter()
        .filter(|r| r.state != Completed)
        .cloned()
        .collect();
    expected.sort_by_key(|r| (r.slicer_id, r.slicer_order));

    let full = store
        .list_slice_states(&query(0, 1_000))
        .await
        .expect("list");
    assert_eq!(full, expected, "ordered by slicer_id, then slicer_order");
    let mut paged = Vec::new();
    for from in (0..expected.len()).step_by(40) {
        let page = store
            .list_slice_states(&query(from, 40))
            .await
            .expect("page");
        assert!(page.len() <= 40);
        paged.extend(page);
    }
    assert_eq!(paged, expected, "pages tile the full list");
    let past = store.list_slice_states(&query(expected.len(), 40)).await;
    assert!(past.expect("page past the end").is_empty());
}

/// Analytics records are appended and listed per execution.
pub async fn analytics_write_and_list(store: Store) {
    let (ex_a, ex_b, job) = (unique_id("ex-a"), unique_id("ex-b"), unique_id("job"));
    let first: Vec<_> = (0..3).map(|o| analytics(&ex_a, &job, "s-1", o)).collect();
    let second = vec![
        analytics(&ex_b, &job, "s-9", 0),
        analytics(&ex_a, &job, "s-2", 0),
    ];
    store.write_analytics(&first).await.expect("write");
    store.write_analytics(&second).await.expect("write");
    // The same record written twice is two documents (Teraslice indexes with auto ids).
    store.write_analytics(&first[..1]).await.expect("write");

    let sort = |mut v: Vec<crate::store::AnalyticsRecord>| {
        v.sort_by(|a, b| (&a.slice_id, a.order).cmp(&(&b.slice_id, b.order)));
        v
    };
    let got = sort(store.list_analytics(&ex_a).await.expect("list"));
    let mut want = first.clone();
    want.push(second[1].clone());
    want.push(first[0].clone());
    assert_eq!(got, sort(want));
    let got_b = store.list_analytics(&ex_b).await.expect("list");
    assert_eq!(got_b, vec![second[0].clone()]);
    let none = store.list_analytics(&unique_id("ex-none")).await;
    assert!(none.expect("list").is_empty());
}
