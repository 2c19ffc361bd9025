//! Helpers for the kafka op tests against the broker of `cargo xtask kafka up` (`KAFKA_BROKERS`):
//! unique topics, a registry with the `default` connector, op contexts, and a plain consumer to
//! read back what the ops wrote.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use serde_json::{json, Map, Value};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::job::{validate_job, JobConfig, JobValidationContext, ValidationError};
use teraslice_runtime::ops::{ApiSet, OpContext};
use teraslice_runtime::OpRegistry;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The brokers; the tests fail (not skip) without them.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS")
        .expect("KAFKA_BROKERS is not set: start the test broker (`cargo xtask kafka up`) and load /tmp/kafka.env")
}

/// A topic name no other test (or run) uses.
pub fn unique(what: &str) -> String {
    format!("ts-{what}-{}", uuid::Uuid::new_v4().simple())
}

/// `terafoundation.connectors` with the test broker as `default`.
pub fn connectors() -> Map<String, Value> {
    json!({"kafka": {"default": {"brokers": brokers()}}})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// The built-ins, the kafka asset with the test connectors, and the standard asset.
pub fn registry() -> Arc<OpRegistry> {
    let mut ops = OpRegistry::with_builtins();
    ops.register_asset(teraslice_asset_kafka::ASSET);
    teraslice_asset_kafka::register_with_connectors(&mut ops, connectors());
    teraslice_asset_standard::register(&mut ops);
    Arc::new(ops)
}

pub fn validate(job: Value) -> Result<JobConfig, Vec<ValidationError>> {
    let ctx = JobValidationContext {
        cluster_manager_type: ClusterManagerType::NATIVE,
        cpu_count: 2,
        kubernetes_overrides_enabled: false,
        connectors: connectors(),
        ops: Some(registry()),
    };
    validate_job(&job, &ctx).map_err(|e| e.0)
}

pub fn valid(job: Value) -> JobConfig {
    validate(job).unwrap_or_else(|e| panic!("job should be valid: {e:?}"))
}

pub fn ctx(job: &JobConfig, index: usize, worker: &str) -> OpContext {
    let apis = registry().create_apis("ex-1", job).expect("apis");
    ctx_with(job, index, worker, apis)
}

pub fn ctx_with(job: &JobConfig, index: usize, worker: &str, apis: ApiSet) -> OpContext {
    OpContext {
        ex_id: "ex-1".into(),
        job_id: "job-1".into(),
        job: Arc::new(job.clone()),
        config: job.operations[index].clone(),
        index,
        worker_id: Some(worker.to_string()),
        apis,
    }
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers());
    c
}

pub async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config().create().expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .expect("create_topics");
    for r in results {
        r.expect("topic created");
    }
}

/// Produces `values` (JSON text) with keys `k<i>`.
pub async fn produce(topic: &str, values: &[String]) {
    let producer: FutureProducer = config().create().expect("producer");
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        producer
            .send(FutureRecord::to(topic).key(&key).payload(v), TIMEOUT)
            .await
            .map_err(|(e, _)| e)
            .expect("delivered");
    }
}

/// One message read back: key, value, timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub key: Option<String>,
    pub value: Value,
    pub timestamp: Option<i64>,
}

/// Reads exactly `count` messages of `topic` from the beginning (fails after a minute without one).
pub async fn read(topic: &str, count: usize) -> Vec<Received> {
    let consumer: StreamConsumer = config()
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    while out.len() < count {
        let m = tokio::time::timeout(TIMEOUT, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages on {topic}", out.len()))
            .expect("recv");
        out.push(Received {
            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            value: serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
            timestamp: m.timestamp().to_millis(),
        });
    }
    out
}

/// The committed offset of each partition of `topic` for `group` (absent = none committed).
pub fn committed(topic: &str, group: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: StreamConsumer = config().set("group.id", group).create().expect("consumer");
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(list, TIMEOUT)
        .expect("committed offsets");
    got.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}
