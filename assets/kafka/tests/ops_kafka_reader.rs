//! kafka_reader against the real broker: `size`/`wait` batching and record metadata, offsets
//! committed only once the slice is recorded (a fetcher dropped before that — a killed worker —
//! leaves its records to be read again), `rollback_on_failure` both ways, a finally failed slice
//! committed and skipped, bad messages through the API's dead-letter action, and clear errors.
mod kafka_support;

use std::collections::BTreeSet;

use kafka_support::{committed, create_topic, ctx, produce, registry, unique, valid, validate};
use serde_json::{json, Value};
use teraslice_core::job::JobConfig;
use teraslice_runtime::ops::{Fetcher, Record};

fn job(topic: &str, group: &str, extra: Value) -> JobConfig {
    let mut api = json!({"_name": "kafka_reader_api", "topic": topic, "group": group,
        "size": 10, "wait": "3 seconds"});
    if let (Some(a), Some(e)) = (api.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    valid(
        json!({"name": "read", "lifecycle": "persistent", "assets": ["kafka"], "apis": [api],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "noop"}]}),
    )
}

async fn fetcher(job: &JobConfig) -> Box<dyn Fetcher> {
    let reg = registry();
    let mut f = reg
        .reader("kafka_reader")
        .expect("op")
        .fetcher(&ctx(job, 0, "w1"))
        .expect("fetcher");
    f.initialize().await.expect("subscribed");
    f
}

fn ns(records: &[Record]) -> BTreeSet<u64> {
    records
        .iter()
        .filter_map(|r| r.data.get("n").and_then(Value::as_u64))
        .collect()
}

async fn topic_with(n: usize, partitions: i32) -> String {
    let topic = unique("reader");
    create_topic(&topic, partitions).await;
    let values: Vec<String> = (0..n).map(|i| json!({"n": i}).to_string()).collect();
    produce(&topic, &values).await;
    topic
}

/// Fetches until `want` records came (each slice recorded and committed).
async fn drain(f: &mut Box<dyn Fetcher>, want: usize) -> Vec<Record> {
    let mut all = Vec::new();
    while all.len() < want {
        let batch = f.fetch(&json!({})).await.expect("fetch");
        assert!(batch.len() <= 10, "never more than size");
        all.extend(batch);
        f.on_slice_finalizing("s").await.expect("finalizing");
        f.on_slice_finished("s").await.expect("finished");
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_in_size_batches_with_metadata_and_commits_only_recorded_slices() {
    let topic = topic_with(25, 3).await;
    let group = unique("g");
    let job = job(&topic, &group, json!({"use_commit_sync": true}));
    let mut f = fetcher(&job).await;
    let first = f.fetch(&json!({})).await.expect("fetch");
    assert!(!first.is_empty() && first.len() <= 10);
    let r = &first[0];
    assert!(r.key().is_some_and(|k| k.starts_with('k')));
    for key in [
        "_ingestTime",
        "_processTime",
        "_eventTime",
        "partition",
        "offset",
        "size",
    ] {
        assert!(r.get_metadata(key).is_some(), "{key} in {:?}", r.metadata);
    }
    assert_eq!(r.get_metadata("topic"), Some(&json!(topic)));
    // Processors done, state not yet recorded: nothing committed.
    f.on_slice_finalizing("s1").await.expect("finalizing");
    assert!(
        committed(&topic, &group, 3).is_empty(),
        "committed before the slice was recorded"
    );
    // The worker dies here: a new one in the same group reads those records again.
    drop(f);
    let mut f = fetcher(&job).await;
    let all = drain(&mut f, 25).await;
    assert_eq!(ns(&all), (0..25).collect(), "every record read");
    assert!(
        ns(&first).is_subset(&ns(&all)),
        "the unrecorded slice was read again"
    );
    assert_eq!(
        committed(&topic, &group, 3).values().sum::<i64>(),
        25,
        "all offsets committed"
    );
    assert!(
        f.fetch(&json!({})).await.expect("fetch").is_empty(),
        "empty slice after wait"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_on_failure_rereads_the_failed_attempt_and_without_it_the_batch_is_skipped() {
    let topic = topic_with(30, 1).await;
    let job_rb = job(
        &topic,
        &unique("g"),
        json!({"rollback_on_failure": true, "use_commit_sync": true}),
    );
    let mut f = fetcher(&job_rb).await;
    let attempt = f.fetch(&json!({})).await.expect("fetch");
    f.on_slice_retry("s1").await.expect("rollback");
    let again = f.fetch(&json!({})).await.expect("fetch");
    assert_eq!(ns(&again), ns(&attempt), "the retry sees the same records");

    let group = unique("g");
    let job_skip = job(&topic, &group, json!({"use_commit_sync": true}));
    let mut f = fetcher(&job_skip).await;
    let attempt = f.fetch(&json!({})).await.expect("fetch");
    f.on_slice_retry("s1").await.expect("commit");
    let next = f.fetch(&json!({})).await.expect("fetch");
    assert!(
        ns(&attempt).is_disjoint(&ns(&next)),
        "the failed batch is skipped"
    );
    // The last attempt fails too: its offsets are committed when the slice is finalized.
    f.on_slice_failed("s1").await.expect("failed");
    f.on_slice_finalizing("s1").await.expect("finalizing");
    let done = (attempt.len() + next.len()) as i64;
    assert_eq!(committed(&topic, &group, 1).get(&0), Some(&done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_follow_the_api_dead_letter_action() {
    let topic = unique("bad");
    create_topic(&topic, 1).await;
    produce(
        &topic,
        &["{\"n\": 0}".into(), "not json".into(), "{\"n\": 2}".into()],
    )
    .await;
    let mut f = fetcher(&job(
        &topic,
        &unique("g"),
        json!({"_dead_letter_action": "none"}),
    ))
    .await;
    let got = drain(&mut f, 2).await;
    assert_eq!(ns(&got), [0, 2].into());
    let mut f = fetcher(&job(
        &topic,
        &unique("g"),
        json!({"_dead_letter_action": "throw"}),
    ))
    .await;
    let mut error = None;
    for _ in 0..3 {
        if let Err(e) = f.fetch(&json!({})).await {
            error = Some(e);
            break;
        }
    }
    let e = error.expect("throw fails the fetch");
    assert!(e.message.contains("invalid JSON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_and_unreachable_brokers_give_clear_errors() {
    let errors = validate(json!({"name": "bad",
        "apis": [{"_name": "kafka_reader_api", "topic": "t", "size": 0}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "json_protocol"}]}))
    .expect_err("invalid");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|e| e.contains("apis[0].group")), "{text:?}");
    assert!(text.iter().any(|e| e.contains("apis[0].size")), "{text:?}");
    assert!(
        text.iter()
            .any(|e| e.contains("please remove \"json_protocol\"")),
        "{text:?}"
    );

    let job = valid(json!({"name": "down", "lifecycle": "persistent",
        "operations": [{"_op": "kafka_reader", "topic": "t", "group": "g", "connection": "default"}, {"_op": "noop"}]}));
    let mut ops = teraslice_runtime::OpRegistry::with_builtins();
    let down = json!({"kafka": {"default": {"brokers": ["127.0.0.1:1"]}}});
    teraslice_asset_kafka::register_with_connectors(
        &mut ops,
        down.as_object().cloned().unwrap_or_default(),
    );
    let mut f = ops
        .reader("kafka_reader")
        .expect("op")
        .fetcher(&ctx(&job, 0, "w1"))
        .expect("fetcher");
    let e = f.initialize().await.expect_err("no broker answers");
    assert!(!e.retryable, "{e}");
    assert!(
        e.message
            .contains("terafoundation.connectors.kafka.default (127.0.0.1:1)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_dead_letter_gets_undecodable_messages_with_their_error() {
    let (topic, dead) = (unique("dlq-src"), unique("dlq"));
    create_topic(&topic, 1).await;
    create_topic(&dead, 1).await;
    produce(&topic, &["{\"n\": 0}".into(), "{broken".into()]).await;
    let job = valid(json!({"name": "read", "lifecycle": "persistent",
        "apis": [{"_name": "kafka_reader_api", "topic": topic, "group": unique("g"), "size": 10,
                  "wait": 3000, "_dead_letter_action": "kafka_dead_letter"},
                 {"_name": "kafka_dead_letter", "topic": dead}],
        "operations": [{"_op": "kafka_reader", "_api_name": "kafka_reader_api"}, {"_op": "noop"}]}));
    let mut f = fetcher(&job).await;
    let got = drain(&mut f, 1).await;
    assert_eq!(ns(&got), [0].into());
    drop(f);
    let letters = kafka_support::read(&dead, 1).await;
    assert_eq!(letters[0].value["record"], json!("{broken"));
    let error = letters[0].value["error"].as_str().unwrap_or_default();
    assert!(error.contains("invalid JSON"), "{error}");
}
