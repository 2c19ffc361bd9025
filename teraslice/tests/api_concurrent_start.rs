//! 50 concurrent `_start`s (then 50 `_recover`s) of one job through the HTTP API make exactly
//! one execution each time: the store's exclusive create decides, on SQLite and on OpenSearch
//! (`OPENSEARCH_URL`, which `cargo xtask test` sets).
mod api_support;

use api_support::{job, TestMaster};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const CALLS: usize = 50;

/// Fires `CALLS` POSTs to `path` at once; returns the `ex_id` of each 200, after checking every
/// other answer is the 409 of a job that is already running.
async fn race(m: &TestMaster, path: &str) -> Vec<String> {
    let calls = (0..CALLS).map(|_| m.call(Method::POST, path, None));
    let mut winners = Vec::new();
    for (status, body) in join_all(calls).await {
        match status {
            StatusCode::OK => winners.push(body["ex_id"].as_str().unwrap_or_default().to_string()),
            StatusCode::CONFLICT => {
                let msg = body["message"].as_str().unwrap_or_default();
                assert!(msg.contains("is currently running"), "{body}");
            }
            other => panic!("{path}: unexpected {other}: {body}"),
        }
    }
    winners
}

async fn executions_of(m: &TestMaster, job_id: &str) -> Vec<Value> {
    let (status, list) = m
        .get(&format!("/ex?size=1000&filter=job_id:\"{job_id}\""))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

async fn one_execution_per_start_and_recover(m: &TestMaster) {
    let (status, body) = m.post("/jobs?start=false", Some(&job("raced"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job_id = body["job_id"].as_str().expect("job_id").to_string();

    let started = race(m, &format!("/jobs/{job_id}/_start")).await;
    assert_eq!(started.len(), 1, "winners of _start: {started:?}");
    assert_eq!(executions_of(m, &job_id).await.len(), 1);

    m.wait_status(&started[0], "running").await;
    let (status, body) = m.post(&format!("/ex/{}/_stop", started[0]), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    m.wait_status(&started[0], "stopped").await;

    let recovered = race(m, &format!("/ex/{}/_recover", started[0])).await;
    assert_eq!(recovered.len(), 1, "winners of _recover: {recovered:?}");
    let all = executions_of(m, &job_id).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().any(|ex| ex["ex_id"] == recovered[0].as_str()));
}

#[tokio::test]
async fn concurrent_starts_make_one_execution_on_sqlite() {
    let m = TestMaster::start("").await;
    one_execution_per_start_and_recover(&m).await;
}

#[tokio::test]
async fn concurrent_starts_make_one_execution_on_opensearch() {
    let url = match std::env::var("OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("OPENSEARCH_URL is not set: run the tests with `cargo xtask test`"),
    };
    let name = format!(
        "tsrs-race-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let one = "{number_of_shards: 1, number_of_replicas: 0}";
    let yaml = format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{url}\"]\n\
         teraslice:\n  name: {name}\n  cluster_manager_type: mock\n  shutdown_timeout: 10000\n\
         \x20 mock:\n    nodes: 2\n    slots_per_node: 20\n\
         \x20 state:\n    connection: default\n    connection_type: elasticsearch-next\n\
         \x20 index_settings:\n    jobs: {one}\n    execution: {one}\n    state: {one}\n    analytics: {one}\n    assets: {one}\n"
    );
    let m = TestMaster::start_yaml(&yaml).await;
    one_execution_per_start_and_recover(&m).await;
    drop(m);
    let _ = reqwest::Client::new()
        .delete(format!("{url}/{name}__*"))
        .send()
        .await;
}
