//! Kafka client choice, measured: rdkafka (librdkafka, bundled build) and the pure-Rust rskafka each
//! produce and then consume the same records against the same broker (`$KAFKA_BROKERS`), in one run.
//! Prints a markdown table of records/s and the rskafka/rdkafka ratio. Run it with
//! `cargo run --release -p teraslice-services-smoke --bin kafka_clients_bench [-- RECORDS]`.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::ClientBuilder;
use rskafka::record::Record;
use teraslice_services_smoke::{kafka_brokers, unique};

const TIMEOUT: Duration = Duration::from_secs(60);
/// Records per produce request for rskafka (it has no background batching of single records).
const RSKAFKA_BATCH: usize = 1_000;

fn payload(i: usize) -> String {
    format!(
        r#"{{"id":{i},"name":"record-{i}","group":"g{}","ok":true,"pad":"0123456789abcdef0123456789abcdef"}}"#,
        i % 10
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let records: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("the argument is the number of records")?,
        None => 200_000,
    };
    let brokers = kafka_brokers();
    let rd_topic = unique("bench-rdkafka");
    let rs_topic = unique("bench-rskafka");
    create_topic(&brokers, &rd_topic).await?;
    create_topic(&brokers, &rs_topic).await?;

    let rd_produce = rdkafka_produce(&brokers, &rd_topic, records).await?;
    let rs_produce = rskafka_produce(&brokers, &rs_topic, records).await?;
    let rd_consume = rdkafka_consume(&brokers, &rd_topic, records).await?;
    let rs_consume = rskafka_consume(&brokers, &rs_topic, records).await?;

    println!(
        "| {records} records of ~110 bytes, 1 partition | rdkafka | rskafka | rskafka / rdkafka |"
    );
    println!("|---|---|---|---|");
    for (what, rd, rs) in [
        ("produce", rd_produce, rs_produce),
        ("consume", rd_consume, rs_consume),
    ] {
        let rate = |d: Duration| records as f64 / d.as_secs_f64();
        println!(
            "| {what} (records/s) | {:.0} | {:.0} | {:.2} |",
            rate(rd),
            rate(rs),
            rate(rs) / rate(rd)
        );
    }
    Ok(())
}

async fn create_topic(brokers: &str, topic: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    for result in admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await?
    {
        result.map_err(|(name, err)| anyhow::anyhow!("creating topic {name}: {err}"))?;
    }
    Ok(())
}

async fn rdkafka_produce(brokers: &str, topic: &str, records: usize) -> anyhow::Result<Duration> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()?;
    let started = Instant::now();
    let mut sends = futures::stream::iter(0..records)
        .map(|i| {
            let producer = &producer;
            async move {
                let value = payload(i);
                producer
                    .send(FutureRecord::<(), _>::to(topic).payload(&value), TIMEOUT)
                    .await
                    .map_err(|(err, _)| err)
            }
        })
        .buffer_unordered(50_000);
    while let Some(sent) = sends.next().await {
        sent.context("rdkafka delivery")?;
    }
    Ok(started.elapsed())
}

async fn rdkafka_consume(brokers: &str, topic: &str, records: usize) -> anyhow::Result<Duration> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("bench-group"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut stream = consumer.stream();
    let mut seen = 0;
    while seen < records {
        let next = tokio::time::timeout(TIMEOUT, stream.next())
            .await
            .context("rdkafka: no record within the timeout")?;
        next.context("rdkafka stream ended")?
            .context("rdkafka recv")?;
        seen += 1;
    }
    Ok(started.elapsed())
}

async fn rskafka_partition(
    brokers: &str,
    topic: &str,
) -> anyhow::Result<rskafka::client::partition::PartitionClient> {
    let client = ClientBuilder::new(vec![brokers.to_string()])
        .build()
        .await?;
    Ok(client
        .partition_client(topic, 0, UnknownTopicHandling::Retry)
        .await?)
}

async fn rskafka_produce(brokers: &str, topic: &str, records: usize) -> anyhow::Result<Duration> {
    let partition = rskafka_partition(brokers, topic).await?;
    let started = Instant::now();
    let mut next = 0;
    while next < records {
        let end = (next + RSKAFKA_BATCH).min(records);
        let batch = (next..end)
            .map(|i| Record {
                key: None,
                value: Some(payload(i).into_bytes()),
                headers: BTreeMap::new(),
                timestamp: rskafka::chrono::Utc::now(),
            })
            .collect();
        partition.produce(batch, Compression::NoCompression).await?;
        next = end;
    }
    Ok(started.elapsed())
}

async fn rskafka_consume(brokers: &str, topic: &str, records: usize) -> anyhow::Result<Duration> {
    let partition = rskafka_partition(brokers, topic).await?;
    let started = Instant::now();
    let mut offset = 0i64;
    while (offset as usize) < records {
        let (batch, _) = partition.fetch_records(offset, 1..1_048_576, 500).await?;
        if let Some(last) = batch.last() {
            offset = last.offset + 1;
        }
    }
    Ok(started.elapsed())
}
