//! The StateStore conformance suite on a real OpenSearch (`cargo xtask opensearch up`), each
//! check on a store with its own cluster name, and the store opened through `open_store`.
mod opensearch_support;

use std::sync::Arc;

use opensearch_support::{cluster_name, open, opensearch_url, Cleanup};
use teraslice_core::config::{StateConnectionType, SystemConfig};
use teraslice_core::store::StateStore;
use teraslice_core::testing::store::run_all;
use teraslice_storage::{open_store, StoreKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opensearch_store_passes_the_state_store_conformance_suite() {
    let cleanup = Cleanup::default();
    run_all(|| {
        let name = cluster_name();
        cleanup.add(&name);
        async move { Arc::new(open(&name).await) as Arc<dyn StateStore> }
    })
    .await;
}

/// A Teraslice config (`teraslice.state` + `terafoundation.connectors.elasticsearch-next`)
/// opens the OpenSearch store through `open_store`, with Teraslice's index names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teraslice_config_opens_the_opensearch_store() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    // YAML takes the connector as inline JSON; credentials come from the env, if the server wants them.
    let mut connector = opensearch_support::credentials();
    connector["node"] = serde_json::json!([opensearch_url()]);
    let yaml = format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default: {connector}\n\
         teraslice:\n  name: {name}\n  state:\n    connection: default\n    connection_type: elasticsearch-next\n\
         \x20 index_settings:\n    jobs: {{number_of_shards: 1, number_of_replicas: 0}}\n    execution: {{number_of_shards: 1, number_of_replicas: 0}}\n    assets: {{number_of_shards: 1, number_of_replicas: 0}}\n"
    );
    let config = SystemConfig::from_yaml_str(&yaml).expect("config parses");
    assert_eq!(
        config.teraslice.state.connection_type,
        StateConnectionType::ElasticsearchNext
    );
    let kind = StoreKind::from_system_config(&config).expect("store kind");
    assert!(matches!(kind, StoreKind::Elasticsearch(_)), "{kind:?}");
    let store = open_store(kind).await.expect("open_store");
    let job = teraslice_core::testing::store::fixtures::job("job-1", chrono::Utc::now());
    store.create_job(&job).await.expect("create_job");
    let (status, doc) = opensearch_support::raw(
        reqwest::Method::GET,
        &format!("{name}__jobs/_doc/job-1"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["_source"]["job_id"], "job-1");
}
