//! End to end through a real execution controller and workers (in-process, loopback):
//! data_generator → elasticsearch_bulk into index A, then elasticsearch_reader A →
//! elasticsearch_bulk into B, once with the legacy job layout and once with the current one.
// The execution controller and worker harness of the runtime tests.
#[path = "../../../runtime/tests/common/mod.rs"]
mod common;
mod ops_es_support;

use common::run_to_completion;
use ops_es_support::{registry, valid, TestIndex};
use serde_json::{json, Value};

async fn run(job: Value, workers: usize) {
    run_to_completion(valid(job), registry(), workers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generate_then_reindex_in_both_layouts_gives_equal_indices() {
    let (a, b_legacy, b_current) = (
        TestIndex::new("src").await,
        TestIndex::new("dst-legacy").await,
        TestIndex::new("dst-current").await,
    );
    run(
        json!({"name": "gen", "workers": 2, "operations": [
            {"_op": "data_generator", "size": 2000, "format": "utcBetween",
             "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"},
            {"_op": "elasticsearch_bulk", "index": a.name, "size": 300}
        ]}),
        2,
    )
    .await;
    assert_eq!(a.count().await, 2000);
    let source = a.docs().await;

    // Legacy layout (assets v2–v4): settings on the ops.
    run(
        json!({"name": "reindex-legacy", "workers": 2, "slicers": 2, "assets": ["elasticsearch:^2.7.7"], "operations": [
            {"_op": "elasticsearch_reader", "index": a.name, "date_field_name": "created", "size": 150, "connection": "default"},
            {"_op": "elasticsearch_bulk", "index": b_legacy.name, "size": 100}
        ]}),
        2,
    )
    .await;
    // Current layout: apis entries named by _api_name.
    run(
        json!({"name": "reindex-current", "workers": 2, "slicers": 2, "assets": ["elasticsearch"],
            "apis": [
                {"_name": "elasticsearch_reader_api", "index": a.name, "date_field_name": "created", "size": 150},
                {"_name": "elasticsearch_sender_api", "index": b_current.name, "size": 100}
            ],
            "operations": [
                {"_op": "elasticsearch_reader", "_api_name": "elasticsearch_reader_api"},
                {"_op": "elasticsearch_bulk", "_api_name": "elasticsearch_sender_api"}
            ]}),
        2,
    )
    .await;
    let legacy = b_legacy.docs().await;
    let current = b_current.docs().await;
    assert_eq!(legacy.len(), 2000);
    assert!(
        legacy == source,
        "the legacy reindex copies ids and contents exactly"
    );
    assert!(
        current == source,
        "the current-layout reindex copies ids and contents exactly"
    );
}
