//! The kafka asset against the broker of `KAFKA_BROKERS` (issue #17): data_generator →
//! kafka_sender against the broker's own `ProducerPerformance` (kafka-producer-perf-test) sending
//! the same payloads, and kafka_reader → noop against `ConsumerPerformance`
//! (kafka-consumer-perf-test) reading the same topic, in this run.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Map};

use crate::es_asset::{run_execution, run_execution_until};
use crate::report::{ratio, Report};

const TITLE: &str = "Kafka asset";
const WRITERS: usize = 2;
const BATCH: usize = 5_000;
const WRITE: &str = "records/s, data_generator → kafka_sender";
const READ: &str = "records/s, kafka_reader → noop";
/// Payloads of the ops' records given to ProducerPerformance (it sends one at random per record).
const SAMPLE: usize = 10_000;
/// How long the reader may take to commit everything before the run is called failed.
const READ_LIMIT: Duration = Duration::from_secs(300);

/// The broker's perf tools, as `cargo xtask bench` passes them.
struct Tools {
    java: String,
    classpath: String,
}

pub async fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let records = 50_000 * usize::try_from(scale).unwrap_or(1);
    let intro = format!(
        "Against the broker of `KAFKA_BROKERS` (`cargo xtask kafka`, Kafka 4.1.1, one KRaft node, unless set), \
         topics of 1 partition. Write: {records} generated records on {WRITERS} in-process workers, \
         kafka_sender_api `size` {BATCH} (slices of {BATCH}), Teraslice's defaults otherwise (gzip, \
         `wait` 500 ms, `required_acks` 1), from the EC's start to its end; against the broker's \
         `kafka-producer-perf-test` (`org.apache.kafka.tools.ProducerPerformance`, one producer, its \
         defaults but `acks=1 compression.type=gzip`) sending {records} records drawn from {SAMPLE} of \
         the ops' own payloads. Read: kafka_reader (`size` {BATCH}, a fresh group, 1 worker: one partition) → \
         noop from the EC's start until the group's committed offset reaches {records}; against \
         `kafka-consumer-perf-test` (`ConsumerPerformance`, a fresh group) reading the same {records} messages \
         of the same topic (its `nMsg.sec`, which includes its group join; the ops' figure includes the EC's and \
         worker's start). The tools' own figures exclude the JVM's start. Target: ≥ 0.8."
    );
    let brokers = std::env::var("KAFKA_BROKERS")
        .ok()
        .filter(|b| !b.is_empty());
    let tools = match (
        std::env::var("KAFKA_TOOLS_JAVA"),
        std::env::var("KAFKA_TOOLS_CLASSPATH"),
    ) {
        (Ok(java), Ok(classpath)) => Some(Tools { java, classpath }),
        _ => None,
    };
    let (Some(brokers), Some(tools)) = (brokers, tools) else {
        let sec = report.section(TITLE, &intro);
        for metric in [WRITE, READ] {
            sec.row(
                metric,
                "not measured: KAFKA_BROKERS or KAFKA_TOOLS_JAVA/KAFKA_TOOLS_CLASSPATH not set (run it through `cargo xtask bench`)".into(),
                "-".into(),
                "-".into(),
            );
        }
        return Ok(());
    };
    let tag = format!(
        "ts-bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let topics = [format!("{tag}-ops"), format!("{tag}-tool")];
    let admin: AdminClient<DefaultClientContext> =
        client(&brokers).create().context("Kafka admin client")?;
    create_topics(&admin, &topics).await?;
    let measured = measure(&brokers, &tools, &topics, &tag, records).await;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    if let Err(e) = admin.delete_topics(&names, &AdminOptions::new()).await {
        eprintln!("bench: could not delete topics {names:?}: {e}");
    }
    let m = measured?;
    let sec = report.section(TITLE, &intro);
    sec.row(
        WRITE,
        format!("{:.0}", m.write),
        format!(
            "{:.0} kafka-producer-perf-test ({:.0}-byte records)",
            m.tool_write, m.payload_size
        ),
        ratio(m.write, m.tool_write),
    );
    sec.row(
        READ,
        format!("{:.0}", m.read),
        format!(
            "{:.0} kafka-consumer-perf-test ({:.0} without its group join)",
            m.tool_read, m.tool_fetch
        ),
        ratio(m.read, m.tool_read),
    );
    Ok(())
}

struct Measured {
    write: f64,
    tool_write: f64,
    payload_size: f64,
    read: f64,
    tool_read: f64,
    tool_fetch: f64,
}

async fn measure(
    brokers: &str,
    tools: &Tools,
    topics: &[String; 2],
    tag: &str,
    records: usize,
) -> anyhow::Result<Measured> {
    let [ops_topic, tool_topic] = topics;
    let mut connectors = Map::new();
    connectors.insert("kafka".into(), json!({"default": {"brokers": [brokers]}}));
    let write_job = json!({"name": "bench-kafka-write", "workers": WRITERS, "analytics": false,
    "apis": [{"_name": "kafka_sender_api", "topic": ops_topic, "size": BATCH}],
    "operations": [
        {"_op": "data_generator", "size": records},
        {"_op": "kafka_sender", "_api_name": "kafka_sender_api"}
    ]});
    let write = records as f64 / run_execution(&connectors, write_job).await?;
    eprintln!("bench: kafka: data_generator → kafka_sender {write:.0} records/s");

    let sample = {
        let (brokers, topic) = (brokers.to_string(), ops_topic.clone());
        tokio::task::spawn_blocking(move || payloads(&brokers, &topic, records)).await??
    };
    let payload_size = sample.iter().map(Vec::len).sum::<usize>() as f64 / sample.len() as f64;
    let dir = tempfile::tempdir()?;
    let payload_file = dir.path().join("payloads");
    std::fs::write(&payload_file, sample.join(&b'\n'))?;
    let tool_write = producer_perf(brokers, tools, tool_topic, records, &payload_file).await?;
    eprintln!("bench: kafka: ProducerPerformance {tool_write:.0} records/s ({payload_size:.0}-byte records)");

    let group = format!("{tag}-reader");
    let read_job = json!({"name": "bench-kafka-read", "workers": 1, "analytics": false,
        "apis": [{"_name": "kafka_reader_api", "topic": ops_topic, "group": group, "size": BATCH,
                  "wait": 2000}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "noop"}]});
    let committed = {
        let (brokers, topic, group) = (brokers.to_string(), ops_topic.clone(), group.clone());
        async move {
            tokio::task::spawn_blocking(move || wait_committed(&brokers, &topic, &group, records))
                .await?
        }
    };
    let read = records as f64 / run_execution_until(&connectors, read_job, committed).await?;
    eprintln!("bench: kafka: kafka_reader → noop {read:.0} records/s");
    let (tool_read, tool_fetch) =
        consumer_perf(brokers, tools, ops_topic, &format!("{tag}-tool"), records).await?;
    Ok(Measured {
        write,
        tool_write,
        payload_size,
        read,
        tool_read,
        tool_fetch,
    })
}

fn client(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    c
}

async fn create_topics(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
) -> anyhow::Result<()> {
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1)))
        .collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((topic, code)) = result {
            bail!("creating topic {topic}: {code}");
        }
    }
    Ok(())
}

/// Checks that `topic` holds `records` messages and returns the first `SAMPLE` payloads.
fn payloads(brokers: &str, topic: &str, records: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let consumer: BaseConsumer = client(brokers)
        .set("group.id", format!("{topic}-sample"))
        .create()?;
    let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10))?;
    if usize::try_from(high).ok() != Some(records) {
        bail!("kafka_sender wrote {high} records to {topic}, expected {records}");
    }
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&list)?;
    let want = SAMPLE.min(records);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        if Instant::now() > deadline {
            bail!(
                "read only {} of {want} sample payloads from {topic}",
                out.len()
            );
        }
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            out.push(m?.payload().unwrap_or_default().to_vec());
        }
    }
    Ok(out)
}

/// Returns once `group` committed offset `records` on `topic`'s partition.
fn wait_committed(brokers: &str, topic: &str, group: &str, records: usize) -> anyhow::Result<()> {
    let consumer: BaseConsumer = client(brokers).set("group.id", group).create()?;
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, 0);
    let deadline = Instant::now() + READ_LIMIT;
    loop {
        let committed = consumer.committed_offsets(list.clone(), Duration::from_secs(10))?;
        let at = committed
            .find_partition(topic, 0)
            .map(|p| p.offset())
            .unwrap_or(Offset::Invalid);
        if let Offset::Offset(n) = at {
            if usize::try_from(n).ok() == Some(records) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("kafka_reader's group {group} committed {at:?} of {records} in {READ_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs one of the broker's perf tools; returns its stdout.
async fn tool(tools: &Tools, class: &str, args: Vec<String>) -> anyhow::Result<String> {
    let mut cmd = Command::new(&tools.java);
    cmd.args(["-Xmx512m", "-cp", &tools.classpath, class])
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await?
        .with_context(|| format!("running {class}"))?;
    if !out.status.success() {
        bail!(
            "{class} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// ProducerPerformance's records/s over `records` records from `payloads`.
async fn producer_perf(
    brokers: &str,
    tools: &Tools,
    topic: &str,
    records: usize,
    payloads: &Path,
) -> anyhow::Result<f64> {
    let args = [
        "--topic",
        topic,
        "--num-records",
        &records.to_string(),
        "--payload-file",
        &payloads.display().to_string(),
        "--throughput",
        "-1",
        "--producer-props",
        &format!("bootstrap.servers={brokers}"),
        "acks=1",
        "compression.type=gzip",
    ]
    .map(String::from)
    .to_vec();
    let out = tool(tools, "org.apache.kafka.tools.ProducerPerformance", args).await?;
    producer_rate(&out, records)
}

/// The total line: `N records sent, R records/sec (…), … 50th, …` (progress lines lack the
/// percentiles).
fn producer_rate(out: &str, records: usize) -> anyhow::Result<f64> {
    let line = out
        .lines()
        .rfind(|l| l.contains(" records/sec") && l.contains("50th"))
        .with_context(|| format!("no total line in ProducerPerformance's output:\n{out}"))?;
    let (sent, rest) = line
        .split_once(" records sent, ")
        .with_context(|| format!("unexpected ProducerPerformance line: {line}"))?;
    if sent.trim().parse::<usize>().ok() != Some(records) {
        bail!("ProducerPerformance sent {sent} records, expected {records}: {line}");
    }
    let rate = rest
        .split_once(" records/sec")
        .and_then(|(r, _)| r.trim().parse::<f64>().ok())
        .with_context(|| format!("no records/sec in ProducerPerformance line: {line}"))?;
    Ok(rate)
}

/// ConsumerPerformance's `nMsg.sec` and `fetch.nMsg.sec` reading `records` messages.
async fn consumer_perf(
    brokers: &str,
    tools: &Tools,
    topic: &str,
    group: &str,
    records: usize,
) -> anyhow::Result<(f64, f64)> {
    let args = [
        "--bootstrap-server",
        brokers,
        "--topic",
        topic,
        "--messages",
        &records.to_string(),
        "--group",
        group,
        "--timeout",
        "60000",
    ]
    .map(String::from)
    .to_vec();
    let out = tool(tools, "org.apache.kafka.tools.ConsumerPerformance", args).await?;
    consumer_rates(&out, records)
}

/// The CSV after the header `start.time, end.time, …, nMsg.sec, …, fetch.nMsg.sec`.
fn consumer_rates(out: &str, records: usize) -> anyhow::Result<(f64, f64)> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("start.time"));
    let (Some(header), Some(values)) = (lines.next(), lines.next()) else {
        bail!("no header and figures in ConsumerPerformance's output:\n{out}");
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let values: Vec<&str> = values.split(',').map(str::trim).collect();
    let field = |name: &str| -> anyhow::Result<f64> {
        let at = names.iter().position(|n| *n == name).with_context(|| {
            format!("no {name} column in ConsumerPerformance's header: {header}")
        })?;
        values
            .get(at)
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| {
                format!("no number for {name} in ConsumerPerformance's output:\n{out}")
            })
    };
    let read = field("data.consumed.in.nMsg")?;
    if read != records as f64 {
        bail!("ConsumerPerformance read {read} messages, expected {records}");
    }
    Ok((field("nMsg.sec")?, field("fetch.nMsg.sec")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tools_totals_and_rejects_short_runs() {
        let producer = "99 records sent, 19.8 records/sec (0.01 MB/sec), 3.0 ms avg latency, 9.0 ms max latency.\n\
                        200000 records sent, 123456.7 records/sec (30.12 MB/sec), 50.1 ms avg latency, 400.0 ms max latency, 40 ms 50th, 90 ms 95th, 120 ms 99th, 200 ms 99.9th.\n";
        assert_eq!(producer_rate(producer, 200_000).ok(), Some(123_456.7));
        assert!(producer_rate(producer, 100_000).is_err());
        assert!(producer_rate("nothing", 1).is_err());
        let consumer = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
                        2026-12-07 00:10:00:000, 2026-12-07 00:10:02:000, 57.2, 28.6, 200000, 100000.0, 400, 1600, 35.75, 125000.0\n";
        assert_eq!(
            consumer_rates(consumer, 200_000).ok(),
            Some((100_000.0, 125_000.0))
        );
        assert!(consumer_rates(consumer, 300_000).is_err());
    }
}
