//! Both Kafka clients measured for the kafka asset talk to the real broker of `cargo xtask kafka up`:
//! rdkafka through a consumer group with committed offsets, rskafka by partition and offset.
use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset};
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::Record;
use teraslice_services_smoke::{kafka_brokers, unique};

const RECORDS: usize = 30;
const PARTITIONS: i32 = 3;
const TIMEOUT: Duration = Duration::from_secs(60);

fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

async fn create_topic(brokers: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = config(brokers).create().expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .expect("create_topics");
    for result in results {
        result.expect("topic created");
    }
}

#[tokio::test]
async fn rdkafka_produces_keyed_records_and_a_group_consumes_and_commits_them_all() {
    let brokers = kafka_brokers();
    let topic = unique("smoke-rdkafka");
    create_topic(&brokers, &topic).await;

    let producer: FutureProducer = config(&brokers)
        .set("acks", "all")
        .set("compression.type", "gzip")
        .create()
        .expect("producer");
    for i in 0..RECORDS {
        let key = format!("key-{i}");
        let value = format!(r#"{{"id":{i}}}"#);
        producer
            .send(FutureRecord::to(&topic).key(&key).payload(&value), TIMEOUT)
            .await
            .map_err(|(err, _)| err)
            .expect("delivered");
    }

    let consumer: StreamConsumer = config(&brokers)
        .set("group.id", unique("smoke-group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut seen = BTreeMap::new();
    while seen.len() < RECORDS {
        let msg = tokio::time::timeout(TIMEOUT, consumer.recv())
            .await
            .expect("a record within the timeout")
            .expect("recv");
        let key = String::from_utf8(msg.key().expect("key").to_vec()).expect("utf8 key");
        let value = String::from_utf8(msg.payload().expect("payload").to_vec()).expect("utf8");
        seen.insert(key, value);
        consumer
            .commit_message(&msg, CommitMode::Sync)
            .expect("commit");
    }
    assert_eq!(seen.get("key-7").map(String::as_str), Some(r#"{"id":7}"#));

    // The group's committed offsets cover every record: a restart would resume after them.
    let committed = consumer.committed(TIMEOUT).expect("committed offsets");
    let total: i64 = committed
        .elements_for_topic(&topic)
        .iter()
        .map(|p| match p.offset() {
            Offset::Offset(n) => n,
            other => panic!(
                "partition {} has no committed offset: {other:?}",
                p.partition()
            ),
        })
        .sum();
    assert_eq!(total, RECORDS as i64);
}

#[tokio::test]
async fn rskafka_produces_and_fetches_records_by_offset() {
    let brokers = kafka_brokers();
    let topic = unique("smoke-rskafka");
    let client = ClientBuilder::new(vec![brokers])
        .build()
        .await
        .expect("rskafka client");
    client
        .controller_client()
        .expect("controller client")
        .create_topic(&topic, 1, 1, 30_000)
        .await
        .expect("create topic");
    let partition = client
        .partition_client(&topic, 0, UnknownTopicHandling::Retry)
        .await
        .expect("partition client");
    let records = (0..RECORDS)
        .map(|i| Record {
            key: Some(format!("key-{i}").into_bytes()),
            value: Some(format!(r#"{{"id":{i}}}"#).into_bytes()),
            headers: BTreeMap::new(),
            timestamp: rskafka::chrono::Utc::now(),
        })
        .collect();
    let offsets = partition
        .produce(records, Compression::NoCompression)
        .await
        .expect("produce");
    assert_eq!(offsets, (0..RECORDS as i64).collect::<Vec<_>>());

    let mut fetched = Vec::new();
    while fetched.len() < RECORDS {
        let (batch, high_watermark) = partition
            .fetch_records(fetched.len() as i64, 1..1_000_000, 1_000)
            .await
            .expect("fetch");
        assert_eq!(high_watermark, RECORDS as i64);
        fetched.extend(batch);
    }
    assert_eq!(fetched[12].offset, 12);
    assert_eq!(
        fetched[12].record.value.as_deref(),
        Some(&br#"{"id":12}"#[..])
    );
}
