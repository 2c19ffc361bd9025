//! kafka_reader end to end through a real execution controller and workers (in-process): a
//! second worker joining (rebalance), then a worker killed mid-job (its task aborted, its
//! connection dropped). Every record is processed; duplicates are bounded by the slices in
//! flight at each rebalance and at the kill (offsets are committed only after their slice is
//! recorded).
#[path = "../../../runtime/tests/common/mod.rs"]
mod common;
mod kafka_support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{timeouts, wait_until, Harness};
use kafka_support::{connectors, create_topic, produce, unique};
use serde_json::{json, Value};
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};
use teraslice_runtime::OpRegistry;

const SIZE: usize = 20;

/// `collect`: remembers the `n` of every record it sees.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<u64>>>);

impl ProcessorFactory for Collect {
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(self.clone()))
    }
}

impl OperationLifecycle for Collect {}

#[async_trait]
impl BatchProcessor for Collect {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        if let Ok(mut seen) = self.0.lock() {
            seen.extend(
                batch
                    .iter()
                    .filter_map(|r| r.data.get("n").and_then(Value::as_u64)),
            );
        }
        Ok(batch)
    }
}

impl Collect {
    fn seen(&self) -> Vec<u64> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn distinct(&self) -> usize {
        self.seen().into_iter().collect::<BTreeSet<_>>().len()
    }
}

async fn produce_range(topic: &str, from: u64, to: u64) {
    let values: Vec<String> = (from..to).map(|n| json!({"n": n}).to_string()).collect();
    produce(topic, &values).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_added_and_killed_lose_no_record_and_duplicate_at_most_the_slices_in_flight() {
    let topic = unique("workers");
    create_topic(&topic, 4).await;
    produce_range(&topic, 0, 200).await;
    let collect = Collect::default();
    let mut ops = OpRegistry::with_builtins();
    teraslice_asset_kafka::register_with_connectors(&mut ops, connectors());
    ops.register_processor("collect", collect.clone());
    let job = common::job(json!({"lifecycle": "persistent", "workers": 2,
        "apis": [{"_name": "kafka_reader_api", "topic": topic, "group": unique("g"),
                  "size": SIZE, "wait": 1000, "use_commit_sync": true}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "collect"}]}));
    let h = Harness::start(job, ops, timeouts()).await;
    let (_, first) = h.worker("worker-0");
    wait_until("worker-0 read some records", || async {
        collect.distinct() >= 40
    })
    .await;

    // A second worker joins: the group rebalances the partitions across both.
    let (_, second) = h.worker("worker-1");
    produce_range(&topic, 200, 400).await;
    wait_until("both workers read the second batch", || async {
        collect.distinct() >= 300
    })
    .await;

    // worker-0 is killed mid-job: its uncommitted slice is read again by worker-1.
    first.abort();
    produce_range(&topic, 400, 600).await;
    wait_until("every record read", || async { collect.distinct() == 600 }).await;
    h.ec.stop().await.expect("stop");
    let seen = collect.seen();
    let distinct: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(distinct, (0..600).collect(), "no record lost");
    // One slice per worker may be re-read at each of the two rebalances and at the kill.
    let duplicates = seen.len() - distinct.len();
    assert!(duplicates <= 4 * SIZE, "{duplicates} duplicates");
    second.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_brokers_fail_the_job_naming_the_connector() {
    let mut ops = OpRegistry::with_builtins();
    let down = json!({"kafka": {"default": {"brokers": "127.0.0.1:1"}}});
    teraslice_asset_kafka::register_with_connectors(
        &mut ops,
        down.as_object().cloned().unwrap_or_default(),
    );
    let job = common::job(json!({"lifecycle": "persistent",
        "operations": [{"_op": "kafka_reader", "topic": "t", "group": "g"}, {"_op": "noop"}]}));
    let h = Harness::start(job, ops, timeouts()).await;
    let (_, worker) = h.worker("worker-0");
    // The worker gives up with the reason; the execution fails instead of waiting for it.
    let reason = match worker.await {
        Ok(Err(e)) => e.to_string(),
        other => panic!("the worker should fail: {other:?}"),
    };
    assert!(
        reason.contains("terafoundation.connectors.kafka.default (127.0.0.1:1)"),
        "{reason}"
    );
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, teraslice_core::ExecutionStatus::Failed);
    // The execution's reason names the cause too, not only a timeout.
    let failure = outcome.failure_reason.unwrap_or_default();
    assert!(
        failure.contains("terafoundation.connectors.kafka.default (127.0.0.1:1)"),
        "{failure}"
    );
}
