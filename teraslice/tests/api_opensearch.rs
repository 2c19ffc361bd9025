//! The master with its state on OpenSearch (`teraslice.state.connection_type: elasticsearch-next`):
//! jobs and executions land in Teraslice's indices and survive a restart. Needs `OPENSEARCH_URL`
//! (`cargo xtask test` starts the server and sets it).
mod api_support;

use api_support::TestMaster;
use reqwest::StatusCode;

fn opensearch_url() -> String {
    match std::env::var("OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "OPENSEARCH_URL is not set: run `cargo xtask opensearch up` and \
             `eval \"$(cargo xtask opensearch env)\"`, or run the tests with `cargo xtask test`"
        ),
    }
}

fn config(url: &str, name: &str) -> String {
    let one = "{number_of_shards: 1, number_of_replicas: 0}";
    format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{url}\"]\n\
         teraslice:\n  name: {name}\n  cluster_manager_type: mock\n  shutdown_timeout: 10000\n\
         \x20 state:\n    connection: default\n    connection_type: elasticsearch-next\n\
         \x20 index_settings:\n    jobs: {one}\n    execution: {one}\n    state: {one}\n    analytics: {one}\n    assets: {one}\n"
    )
}

#[tokio::test]
async fn jobs_and_executions_are_kept_in_teraslice_indices_across_a_restart() {
    let url = opensearch_url();
    let name = format!(
        "tsrs-api-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let m = TestMaster::start_yaml(&config(&url, &name)).await;
    let (job_id, ex_id) = m.running_job("on opensearch").await;

    let http = reqwest::Client::new();
    let doc: serde_json::Value = http
        .get(format!("{url}/{name}__jobs/_doc/{job_id}"))
        .send()
        .await
        .expect("OpenSearch answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(doc["_source"]["name"], "on opensearch", "{doc}");

    let m = m.restart();
    let (status, stored) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(m.status_of(&ex_id).await, "terminated");
    let (_, again) = m.post(&format!("/jobs/{job_id}/_start"), None).await;
    m.wait_status(again["ex_id"].as_str().expect("ex_id"), "running")
        .await;
    drop(m);
    let _ = http.delete(format!("{url}/{name}__*")).send().await;
}
