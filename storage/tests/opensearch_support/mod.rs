//! Shared by the `opensearch_*` tests: the server from `OPENSEARCH_URL`, a random cluster name per
//! store, raw HTTP calls, and deleting every index and template a test made.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use teraslice_core::config::{IndexSettings, IndexSettingsConfig};
use teraslice_storage::elasticsearch::{ConnectionConfig, ElasticsearchConfig};
use teraslice_storage::ElasticsearchStore;

/// The test server's URL; these tests need it and fail without it.
pub fn opensearch_url() -> String {
    match std::env::var("OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "OPENSEARCH_URL is not set: run `cargo xtask opensearch up` and \
             `eval \"$(cargo xtask opensearch env)\"`, or run the tests with `cargo xtask test`"
        ),
    }
}

/// A fresh cluster name, so tests sharing the server never see each other's indices.
pub fn cluster_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("tsrs-test-{}", &id[..12])
}

/// One shard and no replica: tests create many indices on a single node.
pub fn small_indices() -> IndexSettingsConfig {
    let one = IndexSettings {
        number_of_shards: 1,
        number_of_replicas: 0,
    };
    IndexSettingsConfig {
        analytics: one,
        assets: one,
        jobs: one,
        execution: one,
        state: one,
    }
}

/// Optional credentials for a server with security on: `OPENSEARCH_USERNAME`/`OPENSEARCH_PASSWORD`
/// (also used by [`raw`]), or `OPENSEARCH_API_KEY` for the store.
pub fn credentials() -> Value {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("OPENSEARCH_API_KEY"), var("OPENSEARCH_USERNAME")) {
        (Some(key), _) => json!({"apiKey": key}),
        (None, Some(user)) => {
            json!({"username": user, "password": var("OPENSEARCH_PASSWORD").unwrap_or_default()})
        }
        (None, None) => json!({}),
    }
}

pub fn connection(nodes: Value, extra: Value) -> ConnectionConfig {
    let mut connector = json!({"node": nodes, "startupTimeout": "30 seconds"});
    if let (Some(c), Some(e)) = (connector.as_object_mut(), credentials().as_object()) {
        c.extend(e.clone());
    }
    if let (Some(c), Some(e)) = (connector.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    ConnectionConfig::from_connector(
        "terafoundation.connectors.elasticsearch-next.default",
        &connector,
    )
    .expect("test connector config")
}

pub fn config(cluster: &str) -> ElasticsearchConfig {
    ElasticsearchConfig {
        cluster_name: cluster.to_string(),
        connection: connection(json!([opensearch_url()]), json!({})),
        index_settings: small_indices(),
        rollover: Default::default(),
    }
}

pub async fn open(cluster: &str) -> ElasticsearchStore {
    ElasticsearchStore::open(config(cluster))
        .await
        .unwrap_or_else(|e| panic!("opening the store on {}: {e}", opensearch_url()))
}

/// A plain HTTP call to the test server: `(status, JSON body)`.
pub async fn raw(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/{}", opensearch_url().trim_end_matches('/'), path);
    let mut req = reqwest::Client::new().request(method, &url);
    if let Ok(user) = std::env::var("OPENSEARCH_USERNAME") {
        req = req.basic_auth(user, std::env::var("OPENSEARCH_PASSWORD").ok());
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Deletes the indices and templates of every cluster name it was given, when dropped (also
/// when the test panicked). Needs a multi-threaded runtime.
#[derive(Clone, Default)]
pub struct Cleanup(Arc<Mutex<Vec<String>>>);

impl Cleanup {
    pub fn add(&self, cluster: &str) {
        if let Ok(mut names) = self.0.lock() {
            names.push(cluster.to_string());
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if Arc::strong_count(&self.0) > 1 {
            return;
        }
        let names: Vec<String> = self.0.lock().map(|n| n.clone()).unwrap_or_default();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                for name in names {
                    delete_cluster(&name).await;
                }
            })
        });
    }
}

pub async fn delete_cluster(name: &str) {
    let (_, listed) = raw(
        reqwest::Method::GET,
        &format!("_cat/indices/{name}__*?format=json&expand_wildcards=all"),
        None,
    )
    .await;
    for index in listed.as_array().into_iter().flatten() {
        if let Some(i) = index.get("index").and_then(Value::as_str) {
            raw(reqwest::Method::DELETE, i, None).await;
        }
    }
    for kind in ["state", "analytics"] {
        raw(
            reqwest::Method::DELETE,
            &format!("_template/{name}_{kind}_template"),
            None,
        )
        .await;
    }
}

/// How long tests wait for things that should happen promptly (never asserted on).
pub const PATIENCE: Duration = Duration::from_secs(30);
