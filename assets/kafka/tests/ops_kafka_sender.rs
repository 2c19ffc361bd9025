//! kafka_sender against the real broker: keys from `id_field`, timestamps, the topic from the
//! api entry (op-level `topic` wins), both job layouts, and clear errors for bad connector
//! settings and unreachable brokers.
mod kafka_support;

use kafka_support::{create_topic, ctx, read, registry, unique, valid, validate};
use serde_json::{json, Value};
use teraslice_runtime::ops::Record;

fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            Record::new(json!({"id": format!("id-{i}"), "n": i, "at": "2024-01-01T00:00:00.000Z"}))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_layout_sends_json_keyed_by_id_field_with_field_timestamps() {
    let topic = unique("sender");
    create_topic(&topic, 3).await;
    let job = valid(json!({"name": "send", "assets": ["kafka"],
        "apis": [{"_name": "kafka_sender_api", "topic": topic, "id_field": "id",
                  "timestamp_field": "at", "required_acks": -1, "compression": "snappy"}],
        "operations": [{"_op": "data_generator", "size": 10},
                       {"_op": "kafka_sender", "_api_name": "kafka_sender_api"}]}));
    let reg = registry();
    let mut sender = reg
        .processor("kafka_sender")
        .expect("op")
        .processor(&ctx(&job, 1, "w1"))
        .expect("sender");
    sender.initialize().await.expect("topic verified");
    let sent = records(25);
    let back = sender.on_batch(sent.clone()).await.expect("sent");
    assert_eq!(back, sent, "the slice is returned unchanged");
    let mut got = read(&topic, 25).await;
    got.sort_by_key(|r| r.value.get("n").and_then(Value::as_u64));
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.key.as_deref(), Some(format!("id-{i}").as_str()));
        assert_eq!(r.value, sent[i].data);
        assert_eq!(r.timestamp, Some(1_704_067_200_000));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_layout_and_op_topic_override_send_to_that_topic_keyed_by_key_metadata() {
    let (legacy, over) = (unique("legacy"), unique("override"));
    let reg = registry();
    let job = valid(json!({"name": "send", "assets": ["kafka:^3.0.0"],
        "operations": [{"_op": "data_generator", "size": 10},
                       {"_op": "kafka_sender", "topic": legacy, "connection": "default", "size": 5}]}));
    let mut sender = reg
        .processor("kafka_sender")
        .expect("op")
        .processor(&ctx(&job, 1, "w1"))
        .expect("sender");
    // The broker creates the topic on the metadata request (auto.create.topics.enable).
    sender.initialize().await.expect("topic auto-created");
    let keyed: Vec<Record> = (0..3)
        .map(|i| Record::with_key(json!({"n": i}), format!("key-{i}")))
        .collect();
    sender.on_batch(keyed).await.expect("sent");
    let mut keys: Vec<_> = read(&legacy, 3)
        .await
        .into_iter()
        .filter_map(|r| r.key)
        .collect();
    keys.sort();
    assert_eq!(keys, ["key-0", "key-1", "key-2"]);

    let job = valid(json!({"name": "send",
        "apis": [{"_name": "kafka_sender_api", "topic": "not-this-one"}],
        "operations": [{"_op": "data_generator", "size": 10},
                       {"_op": "kafka_sender", "_api_name": "kafka_sender_api", "topic": over}]}));
    let mut sender = reg
        .processor("kafka_sender")
        .expect("op")
        .processor(&ctx(&job, 1, "w1"))
        .expect("sender");
    sender.initialize().await.expect("verified");
    sender.on_batch(records(2)).await.expect("sent");
    assert_eq!(read(&over, 2).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_and_unreachable_brokers_fail_naming_the_connector_and_setting() {
    let errors = validate(json!({"name": "bad",
        "apis": [{"_name": "kafka_sender_api", "compression": "zstd"}],
        "operations": [{"_op": "data_generator"}, {"_op": "kafka_sender", "_api_name": "kafka_sender_api"}]}))
    .expect_err("invalid");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|e| e.contains("apis[0].topic")), "{text:?}");
    assert!(
        text.iter()
            .any(|e| e.contains("apis[0].compression") && e.contains("gzip")),
        "{text:?}"
    );

    let job = valid(json!({"name": "down",
        "operations": [{"_op": "data_generator"}, {"_op": "kafka_sender", "topic": unique("down")}]}));
    let mut ops = teraslice_runtime::OpRegistry::with_builtins();
    let connectors =
        json!({"kafka": {"default": {"brokers": "127.0.0.1:1"}, "odd": {"brokers": 7}}});
    teraslice_asset_kafka::register_with_connectors(
        &mut ops,
        connectors.as_object().cloned().unwrap_or_default(),
    );
    let factory = ops.processor("kafka_sender").expect("op");
    let mut sender = factory
        .processor(&ctx(&job, 1, "w1"))
        .expect("a producer is made lazily");
    let e = sender.initialize().await.expect_err("no broker answers");
    assert!(!e.retryable, "{e}");
    assert!(
        e.message
            .contains("terafoundation.connectors.kafka.default"),
        "{e}"
    );

    let job = valid(json!({"name": "odd",
        "operations": [{"_op": "data_generator"}, {"_op": "kafka_sender", "topic": "t", "_connection": "default"}]}));
    let mut odd = ctx(&job, 1, "w1");
    odd.config.0.insert("_connection".into(), json!("odd"));
    let e = factory.processor(&odd).err().expect("bad brokers");
    assert_eq!(e.message, "terafoundation.connectors.kafka.odd.brokers must be a list of host:port strings or a comma-separated string, got 7");
}
