//! routed_sender through kafka_sender_api: a named route goes to `<topic>-<route key>`, `**`
//! sends each other record to `<topic>-<its standard:route>`.
mod kafka_support;

use kafka_support::{ctx, read, registry, unique, valid};
use serde_json::{json, Value};
use teraslice_runtime::ops::Record;

fn routed(route: &str, n: u64) -> Record {
    let mut r = Record::new(json!({"n": n, "route": route}));
    r.set_metadata("standard:route", json!(route));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_go_to_topic_dash_route() {
    let base = unique("routed");
    let job = valid(json!({"name": "route",
        "apis": [{"_name": "kafka_sender_api", "topic": base, "id_field": "route"}],
        "operations": [{"_op": "data_generator", "size": 10},
            {"_op": "routed_sender", "_api_name": "kafka_sender_api",
             "routing": {"a": "default", "**": "default"}}]}));
    let reg = registry();
    let mut sender = reg
        .processor("routed_sender")
        .expect("op")
        .processor(&ctx(&job, 1, "w1"))
        .expect("routed");
    sender.initialize().await.expect("init");
    let batch = vec![
        routed("a", 0),
        routed("b", 1),
        routed("a", 2),
        routed("c", 3),
    ];
    assert_eq!(sender.on_batch(batch.clone()).await.expect("sent"), batch);
    let ns = |got: Vec<kafka_support::Received>| {
        let mut v: Vec<u64> = got
            .iter()
            .filter_map(|r| r.value.get("n").and_then(Value::as_u64))
            .collect();
        v.sort_unstable();
        v
    };
    let a = read(&format!("{base}-a"), 2).await;
    assert!(
        a.iter().all(|r| r.key.as_deref() == Some("a")),
        "keys from id_field: {a:?}"
    );
    assert_eq!(ns(a), [0, 2]);
    assert_eq!(ns(read(&format!("{base}-b"), 1).await), [1]);
    assert_eq!(ns(read(&format!("{base}-c"), 1).await), [3]);
}
