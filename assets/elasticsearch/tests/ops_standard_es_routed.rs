//! `routed_sender` through `elasticsearch_sender_api` against the real OpenSearch of `cargo
//! xtask opensearch up`: each route's records land in `<index>-<route>` through the routing
//! table's connection.
mod ops_es_support;

use ops_es_support::{call, connectors, ctx, valid};
use serde_json::{json, Value};
use teraslice_asset_standard::register_routed_sender;
use teraslice_runtime::ops::{OpError, Record};

async fn ids(index: &str) -> Vec<String> {
    call(reqwest::Method::POST, &format!("{index}/_refresh"), None).await;
    let v = call(
        reqwest::Method::POST,
        &format!("{index}/_search"),
        Some(json!({"size": 100, "query": {"match_all": {}}})),
    )
    .await;
    let mut out: Vec<String> = v
        .pointer("/hits/hits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| h.get("_id").and_then(Value::as_str).map(str::to_string))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn each_route_goes_to_its_own_index_through_its_connection() -> Result<(), OpError> {
    let base = format!("ts-es-routed-{}", uuid::Uuid::new_v4().simple());
    let job = valid(json!({
        "name": "routed",
        "apis": [{"_name": "elasticsearch_sender_api", "index": base, "size": 2}],
        "operations": [
            {"_op": "data_generator"},
            {"_op": "routed_sender", "_api_name": "elasticsearch_sender_api",
             "routing": {"a": "default", "b,c": "other"}}
        ]
    }));
    // The elasticsearch ops were re-registered with connectors: routed_sender must follow.
    let mut registry = ops_es_support::ops();
    teraslice_asset_elasticsearch::register_with_connectors(&mut registry, connectors());
    register_routed_sender(&mut registry);
    let factory = registry.processor("routed_sender")?;
    let mut p = factory.processor(&ctx(&job, 1, Some("w1")))?;
    let batch: Vec<Record> = [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")]
        .iter()
        .map(|(route, id)| {
            let mut r = Record::with_key(json!({"n": id}), *id);
            r.set_metadata("standard:route", json!(route));
            r
        })
        .collect();
    let out = p.on_batch(batch.clone()).await?;
    assert_eq!(out, batch, "the slice passes through");
    assert_eq!(ids(&format!("{base}-a")).await, ["1", "3"]);
    assert_eq!(ids(&format!("{base}-b")).await, ["2"]);
    assert_eq!(ids(&format!("{base}-c")).await, ["4"]);
    let all = format!("{base}-a,{base}-b,{base}-c");
    call(reqwest::Method::DELETE, &all, None).await;
    Ok(())
}
