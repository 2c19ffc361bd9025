//! Two store instances (as two processes would hold them) racing on one execution, and bulk slice
//! state at volume, on OpenSearch.
mod opensearch_support;

use std::sync::Arc;

use teraslice_core::config::RolloverFrequency;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::status::ExecutionStatus::{self, *};
use teraslice_core::store::{SliceQuery, SliceState, StateStore, StoreError};
use teraslice_core::testing::store::fixtures::{at, execution, slice};
use teraslice_storage::ElasticsearchStore;
use tokio::sync::Barrier;

use opensearch_support::{cluster_name, config, open, raw, Cleanup};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_racing_a_status_change_have_exactly_one_winner() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let a = open(&name).await;
    let b = open(&name).await;
    for round in 0..10 {
        let ex = execution("job-race", Running, at(round));
        a.create_execution(&ex).await.expect("create");
        let barrier = Arc::new(Barrier::new(2));
        let race = |store: ElasticsearchStore, target: ExecutionStatus| {
            let (barrier, ex_id) = (barrier.clone(), ex.ex_id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let update = StatusUpdate::failed(format!("writer {target}"));
                (
                    target,
                    store.set_execution_status(&ex_id, target, &update).await,
                )
            })
        };
        let first = race(a.clone(), Completed);
        let second = race(b.clone(), Terminated);
        let results = [first.await.expect("task"), second.await.expect("task")];
        let winners: Vec<ExecutionStatus> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let stored = b.get_execution(&ex.ex_id).await.expect("get");
        assert_eq!(stored.status, winners[0], "round {round}");
        assert_eq!(stored.failure_reason, format!("writer {}", winners[0]));
        let loser = results
            .iter()
            .find(|(t, _)| *t != winners[0])
            .expect("a loser");
        assert!(
            matches!(&loser.1, Err(StoreError::Transition { source, .. }) if source.from == winners[0]),
            "the loser is refused against the winner's status: {loser:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_slice_states_in_one_bulk_then_counted_by_state() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let mut cfg = config(&name);
    // Daily indices: the 10,000 records (one per second from 10:00) span one day; others below
    // are moved to other days so the `*` searches cover several indices.
    cfg.rollover.state = RolloverFrequency::Daily;
    let store = ElasticsearchStore::open(cfg).await.expect("open");
    let states = [
        SliceState::Pending,
        SliceState::Start,
        SliceState::Completed,
        SliceState::Error,
    ];
    let records: Vec<_> = (0..10_000u64)
        .map(|n| {
            let mut r = slice("ex-bulk", n, states[(n % 4) as usize]);
            if n % 4 == 3 {
                r.error = Some(format!("slice {n} failed"));
            }
            if n >= 9_000 {
                r.created += chrono::Duration::days(3);
            }
            r
        })
        .collect();
    store
        .write_slice_states(&records)
        .await
        .expect("bulk write");
    for state in states {
        let n = store
            .count_slice_states("ex-bulk", Some(state))
            .await
            .expect("count");
        assert_eq!(n, 2_500, "{state:?}");
    }
    assert_eq!(
        store
            .count_slice_states("ex-bulk", None)
            .await
            .expect("count"),
        10_000
    );
    let (_, indices) = raw(
        reqwest::Method::GET,
        &format!("_cat/indices/{name}__state-*?format=json"),
        None,
    )
    .await;
    let mut names: Vec<String> = indices
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["index"].as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{name}__state-2024.05.17"),
            format!("{name}__state-2024.05.20")
        ],
        "each record goes to the index of its _created day"
    );
    let errors = store
        .list_slice_states(&SliceQuery {
            states: vec![SliceState::Error],
            ..SliceQuery::all("ex-bulk")
        })
        .await
        .expect("list errors");
    assert_eq!(errors.len(), 2_500);
    assert!(errors
        .iter()
        .all(|r| r.error.is_some() && r.state == SliceState::Error));
}
