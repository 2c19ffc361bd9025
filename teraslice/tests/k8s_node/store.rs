//! One OpenSearch for every test cluster of a run: `examples/k8s/elasticsearchDeployment.yaml`
//! (`make elasticsearch`) in its own namespace, on the real node. Each test cluster reaches it
//! as `elasticsearch:9200` through an ExternalName Service and keeps its indices apart by its
//! cluster name.
use std::time::Duration;

use tokio::sync::OnceCell;

use super::cluster::{client, create_namespace, service_ip, wait_http_ok};
use super::env::NodeEnv;
use super::kubectl::{apply, render, without_node_ports};

pub const NAMESPACE: &str = "tsrs-e2e-store";

/// The store's URL as the host reaches it (the Service's ClusterIP through kube-proxy).
pub async fn shared() -> &'static str {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(|| async {
        let env = NodeEnv::get();
        create_namespace(&env, NAMESPACE);
        apply(
            &env,
            &without_node_ports(&render(
                "elasticsearchDeployment.yaml",
                NAMESPACE,
                &env.image,
            )),
        );
        let ip = service_ip(&client().await, NAMESPACE, "elasticsearch").await;
        let url = format!("http://{ip}:9200");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        wait_http_ok(
            &http,
            &format!("{url}/_cluster/health?wait_for_status=yellow&timeout=20s"),
            "the in-cluster OpenSearch",
        )
        .await;
        url
    })
    .await
}

/// `elasticsearch` in namespace `ns`, an alias of the shared store's Service.
pub fn external_service(ns: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: elasticsearch
  namespace: {ns}
spec:
  type: ExternalName
  externalName: elasticsearch.{NAMESPACE}.svc.cluster.local
"
    )
}

/// Documents in `index` after a refresh.
pub async fn count(index: &str) -> u64 {
    let url = shared().await;
    let http = reqwest::Client::new();
    let _ = http.post(format!("{url}/{index}/_refresh")).send().await;
    let res: serde_json::Value = http
        .get(format!("{url}/{index}/_count"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("count {index}: {e}"))
        .json()
        .await
        .expect("count answer");
    res["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("count {index}: {res}"))
}

/// The slice state records of `ex_id` in `<cluster>__state*`.
pub async fn slice_states(cluster: &str, ex_id: &str) -> Vec<serde_json::Value> {
    slice_states_at(shared().await, cluster, ex_id).await
}

/// The same, in the OpenSearch at `url`.
pub async fn slice_states_at(url: &str, cluster: &str, ex_id: &str) -> Vec<serde_json::Value> {
    let http = reqwest::Client::new();
    let _ = http
        .post(format!("{url}/{cluster}__state*/_refresh"))
        .send()
        .await;
    let res: serde_json::Value = http
        .post(format!("{url}/{cluster}__state*/_search"))
        .json(&serde_json::json!({
            "size": 10000,
            "query": {"term": {"ex_id": ex_id}}
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("search {cluster}__state*: {e}"))
        .json()
        .await
        .expect("search answer");
    res["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("search {cluster}__state*: {res}"))
        .iter()
        .map(|h| h["_source"].clone())
        .collect()
}
