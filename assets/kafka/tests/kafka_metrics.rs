//! kafka_reader's metrics against the real broker (teraslice-kafka-s3.md §3.8):
//! `kafka_partitions`, `kafka_bytes_consumed`, `kafka_rebalance_total`, labelled `op_name`.
//! This test process installs a worker's metrics registry, so it has its own binary.
mod kafka_support;

use std::time::{Duration, Instant};

use kafka_support::{create_topic, ctx, produce, registry, unique, valid};
use serde_json::json;
use teraslice_core::job::JobConfig;
use teraslice_runtime::metrics::{self, Assignment, MetricsSettings};
use teraslice_runtime::ops::Fetcher;

fn job(topic: &str, group: &str) -> JobConfig {
    valid(
        json!({"name": "read", "lifecycle": "persistent", "assets": ["kafka"],
        "apis": [{"_name": "kafka_reader_api", "topic": topic, "group": group,
            "size": 100, "wait": "1 second"}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "noop"}]}),
    )
}

async fn fetcher(job: &JobConfig, worker: &str) -> Box<dyn Fetcher> {
    let mut f = registry()
        .reader("kafka_reader")
        .expect("op")
        .fetcher(&ctx(job, 0, worker))
        .expect("fetcher");
    f.initialize().await.expect("subscribed");
    f
}

/// The value of the one series of `name` (with `op_name="kafka_reader"`) in `text`.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("op_name=\"kafka_reader\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn one_slice(f: &mut Box<dyn Fetcher>) -> usize {
    let n = f.fetch(&json!({})).await.expect("fetch").len();
    f.on_slice_finalizing("s").await.expect("finalizing");
    f.on_slice_finished("s").await.expect("finished");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_bytes_and_rebalances_are_counted() {
    let settings = MetricsSettings {
        enabled: true,
        port: 0,
        add_default: false,
        display_url: String::new(),
    };
    let m = metrics::install(
        Assignment::Worker,
        &settings,
        vec![("name".into(), "t".into())],
    );
    let topic = unique("metrics");
    create_topic(&topic, 3).await;
    let values: Vec<String> = (0..30)
        .map(|i| json!({"n": i, "pad": "x".repeat(i)}).to_string())
        .collect();
    produce(&topic, &values).await;
    let job = job(&topic, &unique("g"));

    let mut first = fetcher(&job, "w1").await;
    let mut read = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while read < values.len() && Instant::now() < deadline {
        read += one_slice(&mut first).await;
    }
    assert_eq!(read, values.len());
    let text = m.encode();
    let bytes: usize = values.iter().map(String::len).sum();
    assert_eq!(
        value(&text, "teraslice_worker_kafka_bytes_consumed_total"),
        Some(bytes as f64),
        "{text}"
    );
    assert_eq!(
        value(&text, "teraslice_worker_kafka_partitions"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "teraslice_worker_kafka_rebalance_total"),
        Some(0.0),
        "{text}"
    );

    // A second consumer joins the group: the first gives up partitions (a rebalance).
    let mut second = fetcher(&job, "w2").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        one_slice(&mut first).await;
        one_slice(&mut second).await;
        let text = m.encode();
        let rebalances = value(&text, "teraslice_worker_kafka_rebalance_total").unwrap_or(0.0);
        let partitions = value(&text, "teraslice_worker_kafka_partitions").unwrap_or(0.0);
        if rebalances >= 1.0 && (1.0..3.0).contains(&partitions) {
            break;
        }
        assert!(Instant::now() < deadline, "no rebalance seen:\n{text}");
    }
}
