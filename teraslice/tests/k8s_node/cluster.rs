//! A Teraslice cluster of the guide on the real node: its own namespace (pinned to the real
//! node), the guide's ServiceAccounts, Role and RoleBinding, the API token Secret, the two
//! ConfigMaps and the master Deployment and Service of `examples/k8s`, with state in the shared
//! in-cluster OpenSearch. Every API call carries the token.
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Client;
use serde_json::{json, Value};

use super::env::NodeEnv;
use super::kubectl::{apply, render, without_node_ports};
use super::store;

/// Starting a master pod or an OpenSearch on a busy 2-core node; only stops a broken test.
pub const PATIENCE: Duration = Duration::from_secs(240);

pub struct TeraCluster {
    pub env: NodeEnv,
    pub client: Client,
    /// The namespace, also `teraslice.name` (the index prefix).
    pub name: String,
    pub master_url: String,
    pub http: reqwest::Client,
}

/// The Secret `teraslice-api-tokens` masterDeployment.yaml mounts (what `make token` makes).
pub fn api_token_secret(namespace: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: teraslice-api-tokens\n  namespace: {namespace}\nstringData:\n  tokens: \"{token}\"\n"
    )
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

pub async fn client() -> Client {
    teraslice_backend_k8s::install_crypto_provider();
    Client::try_default()
        .await
        .unwrap_or_else(|e| panic!("a client from KUBECONFIG ({e}): run `cargo xtask k8s up`"))
}

/// The namespace of `examples/k8s/ns.yaml`, annotated so its pods run on the real node.
pub fn create_namespace(env: &NodeEnv, name: &str) {
    apply(env, &render("ns.yaml", name, &env.image));
    let mut args = vec!["annotate", "--overwrite", "namespace", name];
    let annotations = env.annotation_args();
    args.extend(annotations.iter().map(String::as_str));
    super::kubectl::kubectl(env, &args, None);
}

async fn put_config_map(client: &Client, ns: &str, name: &str, yaml: String) {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns},
        "data": {"teraslice.yaml": yaml}
    }))
    .expect("config map");
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap_or_else(|e| panic!("create ConfigMap {name}: {e}"));
}

impl TeraCluster {
    /// Everything `make setup-all` creates except OpenSearch (shared, see `store`), then waits
    /// until the master answers.
    pub async fn start(prefix: &str) -> TeraCluster {
        Self::start_with(prefix, "").await
    }

    /// Like [`TeraCluster::start`], with `extra` appended to the master's `teraslice:` section
    /// (keys indented by two spaces).
    pub async fn start_with(prefix: &str, extra: &str) -> TeraCluster {
        let env = NodeEnv::get();
        // The shared OpenSearch first: the master needs it to start.
        store::shared().await;
        let client = client().await;
        let name = unique(prefix);
        create_namespace(&env, &name);
        apply(&env, &store::external_service(&name));
        for file in ["role.yaml", "roleBinding.yaml"] {
            apply(&env, &render(file, &name, &env.image));
        }
        // The master's API token, as `make token` makes it.
        let token = uuid::Uuid::new_v4().simple().to_string();
        apply(&env, &api_token_secret(&name, &token));
        apply(&env, &render("priorityClass.yaml", &name, &env.image));
        put_config_map(
            &client,
            &name,
            "teraslice-master",
            render("teraslice-master.yaml", &name, &env.image) + extra,
        )
        .await;
        put_config_map(
            &client,
            &name,
            "teraslice-worker",
            render("teraslice-worker.yaml", &name, &env.image),
        )
        .await;
        apply(
            &env,
            &without_node_ports(&render("masterDeployment.yaml", &name, &env.image)),
        );
        let ip = service_ip(&client, &name, "teraslice-master").await;
        let master_url = format!("http://{ip}:5678");
        let mut headers = reqwest::header::HeaderMap::new();
        let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .expect("a header value");
        headers.insert(reqwest::header::AUTHORIZATION, bearer);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("http client");
        wait_http_ok(&http, &format!("{master_url}/"), "the teraslice master").await;
        TeraCluster {
            env,
            client,
            name,
            master_url,
            http,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.master_url));
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = match req.send().await {
            Ok(res) => res,
            // The master may be restarting (a test deletes its pod): the caller polls again.
            Err(e) => return (0, Value::String(e.to_string())),
        };
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(
            (200..300).contains(&status),
            "POST {path}: {status} {answer}"
        );
        answer
    }

    /// Submits and starts `job`; its job id.
    pub async fn submit(&self, job: &Value) -> String {
        let answer = self.post("/jobs", job).await;
        answer["job_id"].as_str().expect("job_id").to_string()
    }

    /// The live stats of the job's execution controller (`processed`, `workers_active`, …),
    /// `None` while it has none.
    pub async fn controller(&self, job_id: &str) -> Option<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/jobs/{job_id}/controller"),
                None,
            )
            .await;
        (status == 200).then(|| body[0].clone())
    }

    /// Waits until the job's controller has processed at least `n` slices.
    pub async fn wait_processed(&self, job_id: &str, n: u64) {
        let start = Instant::now();
        loop {
            if let Some(c) = self.controller(job_id).await {
                if c["processed"].as_u64().unwrap_or(0) >= n {
                    return;
                }
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "{n} slices not processed within {PATIENCE:?}: {}",
                    self.pod_summary().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The job's latest execution record; `Null` while the master does not answer.
    pub async fn execution(&self, job_id: &str) -> Value {
        let path = format!("/jobs/{job_id}/ex");
        match self.call(reqwest::Method::GET, &path, None).await {
            (200, ex) => ex,
            (0, _) => Value::Null,
            (status, body) => panic!("GET {path}: {status} {body}"),
        }
    }

    /// Polls the job's execution until `done` says so; the last record.
    pub async fn wait_execution(
        &self,
        job_id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let ex = self.execution(job_id).await;
            if done(&ex) {
                return ex;
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "{what}: gave up after {PATIENCE:?}; execution: {ex:#}\npods: {}",
                    self.pod_summary().await
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn wait_status(&self, job_id: &str, statuses: &[&str]) -> Value {
        self.wait_execution(job_id, &format!("status in {statuses:?}"), |ex| {
            statuses.contains(&ex["_status"].as_str().unwrap_or(""))
        })
        .await
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Deletes pod `name` with grace 0 (`kubectl delete --grace-period=0`), as a crash would.
    pub async fn delete_pod_now(&self, name: &str, what: &str) {
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        };
        self.pods()
            .delete(name, &now)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    /// The pods of a component (`execution_controller`, `worker`, `master`).
    pub async fn component_pods(&self, component: &str) -> Vec<Pod> {
        let lp = ListParams::default().labels(&format!("app.kubernetes.io/component={component}"));
        self.pods().list(&lp).await.expect("list pods").items
    }

    pub async fn running_pods(&self, component: &str) -> Vec<Pod> {
        self.component_pods(component)
            .await
            .into_iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
            .collect()
    }

    pub async fn pod_summary(&self) -> String {
        let pods = self
            .pods()
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        pods.iter()
            .map(|p| {
                let st = p.status.as_ref();
                format!(
                    "{} node={} phase={} {}",
                    p.metadata.name.as_deref().unwrap_or("?"),
                    p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_deref())
                        .unwrap_or("-"),
                    st.and_then(|s| s.phase.as_deref()).unwrap_or("-"),
                    st.map(|s| serde_json::to_string(&s.container_statuses).unwrap_or_default())
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until no object of this execution is left in the namespace.
    pub async fn wait_objects_gone(&self, ex_id: &str) {
        let selector = format!("teraslice.terascope.io/exId={ex_id}");
        let start = Instant::now();
        loop {
            let out = super::kubectl::kubectl(
                &self.env,
                &[
                    "-n",
                    &self.name,
                    "get",
                    "jobs,deployments,services,replicasets,pods",
                    "-l",
                    &selector,
                    "-o",
                    "name",
                ],
                None,
            );
            let left = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if left.is_empty() {
                return;
            }
            if start.elapsed() > PATIENCE {
                panic!("objects of {ex_id} still there after {PATIENCE:?}: {left}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for TeraCluster {
    fn drop(&mut self) {
        if std::env::var_os("TERASLICE_K8S_KEEP_NAMESPACES").is_some() {
            return;
        }
        let api = Api::<Namespace>::all(self.client.clone());
        let name = self.name.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // Best effort: the namespace controller finishes the cleanup.
        tokio::task::block_in_place(|| {
            handle.block_on(async move {
                let _ = api.delete(&name, &DeleteParams::background()).await;
            })
        });
    }
}

pub async fn service_ip(client: &Client, ns: &str, name: &str) -> String {
    let svc = Api::<Service>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("Service {ns}/{name}: {e}"));
    svc.spec
        .and_then(|s| s.cluster_ip)
        .unwrap_or_else(|| panic!("Service {ns}/{name} has no ClusterIP"))
}

/// Polls `url` until it answers 2xx.
pub async fn wait_http_ok(http: &reqwest::Client, url: &str, what: &str) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < PATIENCE {
        match http.get(url).send().await {
            Ok(res) if res.status().is_success() => return,
            Ok(res) => last = format!("status {}", res.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what} at {url} did not answer within {PATIENCE:?}: {last}");
}
