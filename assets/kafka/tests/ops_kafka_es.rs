//! The delivery guarantee of docs/operations.md, end to end: kafka_reader → elasticsearch_bulk
//! through the in-process EC against the broker and OpenSearch, a worker killed mid-job and
//! replaced. No record is lost, and with document ids from the record (the message key) the
//! re-read slice leaves no duplicate in the index.
#[path = "../../../runtime/tests/common/mod.rs"]
mod common;
#[path = "../../elasticsearch/tests/ops_es_support/mod.rs"]
mod es;
mod kafka_support;

use std::collections::BTreeSet;

use common::{timeouts, wait_until, Harness};
use kafka_support::{create_topic, produce, unique};
use serde_json::json;

const RECORDS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_worker_loses_no_record_and_leaves_no_duplicate_document() {
    let topic = unique("to-es");
    create_topic(&topic, 4).await;
    let values: Vec<String> = (0..RECORDS).map(|n| json!({"n": n}).to_string()).collect();
    // Keys k0…k299: the records' `_key`, so the documents' ids.
    produce(&topic, &values).await;
    let index = es::TestIndex::new("from-kafka").await;
    let mut connectors = es::connectors();
    connectors.extend(kafka_support::connectors());
    let mut ops = es::with_connectors(connectors.clone());
    teraslice_asset_kafka::register_with_connectors(&mut ops, connectors);
    let job = common::job(json!({"lifecycle": "persistent", "workers": 2,
        "apis": [{"_name": "kafka_reader_api", "topic": topic, "group": unique("g"),
                  "size": 25, "wait": 1000, "rollback_on_failure": true}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"},
                       {"_op": "elasticsearch_bulk", "index": index.name, "size": 100}]}));
    let h = Harness::start(job, ops, timeouts()).await;
    let (_, first) = h.worker("worker-0");
    wait_until("worker-0 indexed some records", || async {
        index.count().await >= 50
    })
    .await;
    first.abort();
    let (_, second) = h.worker("worker-1");
    wait_until("every record indexed", || async {
        index.count().await == RECORDS as u64
    })
    .await;
    h.ec.stop().await.expect("stop");
    let ids: BTreeSet<String> = index.docs().await.into_iter().map(|(id, _)| id).collect();
    let want: BTreeSet<String> = (0..RECORDS).map(|i| format!("k{i}")).collect();
    assert_eq!(ids, want, "every record once, under its key");
    assert_eq!(index.count().await, RECORDS as u64, "no duplicate document");
    second.abort();
}
