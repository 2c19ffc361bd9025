//! A Teraslice cluster of the guide on the real node, set up as `make setup-all` does (the
//! example manifests of `examples/k8s`, applied with the plane's kubectl), with state in the
//! in-cluster OpenSearch the real-node tests share (`tsrs-e2e-store`).
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams};
use kube::Client;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The namespace of the shared OpenSearch (the real-node tests' own; applied, never deleted).
pub const STORE_NAMESPACE: &str = "tsrs-e2e-store";
/// Starting a master or an OpenSearch pod on a busy 2-core node.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// What `cargo xtask k8s env` and `cargo xtask image teraslice` provide.
pub struct NodeEnv {
    pub kubectl: PathBuf,
    pub image: String,
    /// `key=value` annotations that put a namespace's pods on the real node.
    pub annotations: Vec<String>,
}

impl NodeEnv {
    /// `None` (with the missing variable) unless the plane runs with its real node.
    pub fn get() -> Result<NodeEnv, String> {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(name.to_string()),
        };
        var("KUBECONFIG")?;
        Ok(NodeEnv {
            kubectl: PathBuf::from(var("TERASLICE_KUBECTL")?),
            image: var("TERASLICE_K8S_IMAGE")?,
            annotations: vec![
                format!(
                    "scheduler.alpha.kubernetes.io/node-selector={}",
                    var("TERASLICE_K8S_REAL_NODE_SELECTOR")?
                ),
                format!(
                    "scheduler.alpha.kubernetes.io/defaultTolerations={}",
                    var("TERASLICE_K8S_REAL_NODE_TOLERATIONS")?
                ),
            ],
        })
    }

    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
        let mut child = Command::new(&self.kubectl)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", self.kubectl.display()))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes()).await?;
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!(
                "kubectl {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    pub async fn apply(&self, yaml: &str) -> anyhow::Result<()> {
        self.kubectl(&["apply", "-f", "-"], Some(yaml)).await
    }

    /// The namespace of `examples/k8s/ns.yaml`, annotated so its pods run on the real node.
    pub async fn namespace(&self, name: &str) -> anyhow::Result<()> {
        self.apply(&render("ns.yaml", name, &self.image)?).await?;
        let mut args = vec!["annotate", "--overwrite", "namespace", name];
        args.extend(self.annotations.iter().map(String::as_str));
        self.kubectl(&args, None).await
    }
}

/// `examples/k8s/<file>` with the namespace and image replaced, as the Makefile renders it, and
/// without fixed `nodePort`s (the host reaches Services by their ClusterIP).
pub fn render(file: &str, namespace: &str, image: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/k8s")
        .join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .replace("ts-dev1", namespace)
        .replace("teraslice-k8sdev:1", image)
        .lines()
        .filter(|l| !l.trim_start().starts_with("nodePort:"))
        .map(|l| l.replace(", nodePort: 30200", ""))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The shared OpenSearch (applied if missing); its URL from the host.
pub async fn store(
    env: &NodeEnv,
    client: &Client,
    http: &reqwest::Client,
) -> anyhow::Result<String> {
    env.namespace(STORE_NAMESPACE).await?;
    let yaml = render("elasticsearchDeployment.yaml", STORE_NAMESPACE, &env.image)?;
    env.apply(&yaml).await?;
    let url = format!(
        "http://{}:9200",
        service_ip(client, STORE_NAMESPACE, "elasticsearch").await?
    );
    let health = format!("{url}/_cluster/health?wait_for_status=yellow&timeout=20s");
    wait_ok(http, &health, "the in-cluster OpenSearch").await?;
    Ok(url)
}

/// A Teraslice master of the guide in its own namespace.
pub struct TeraCluster {
    /// The namespace, also `teraslice.name` (the state indices' prefix).
    pub name: String,
    pub master: String,
    /// The API token of the master (the Secret `teraslice-api-tokens`).
    token: String,
}

/// 16 bytes of /dev/urandom as hex.
fn random_token() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the API token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The Secret `teraslice-api-tokens` masterDeployment.yaml mounts (what `make token` makes).
pub fn api_token_secret(namespace: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: teraslice-api-tokens\n  namespace: {namespace}\nstringData:\n  tokens: \"{token}\"\n"
    )
}

impl TeraCluster {
    /// Namespace, ServiceAccounts, Role, RoleBinding, PriorityClass, the API token Secret, the two
    /// ConfigMaps and the master; waits until
    /// the master answers. The execution pods get no CPU requests or limits (the example's 0.25
    /// CPU would throttle each worker to a quarter of a core, which the native backend does not).
    pub async fn start(
        env: &NodeEnv,
        client: &Client,
        http: &reqwest::Client,
        name: &str,
    ) -> anyhow::Result<Self> {
        env.namespace(name).await?;
        env.apply(&format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: elasticsearch\n  namespace: {name}\nspec:\n  type: ExternalName\n  externalName: elasticsearch.{STORE_NAMESPACE}.svc.cluster.local\n"
        ))
        .await?;
        for file in ["role.yaml", "roleBinding.yaml", "priorityClass.yaml"] {
            env.apply(&render(file, name, &env.image)?).await?;
        }
        let token = random_token()?;
        env.apply(&api_token_secret(name, &token)).await?;
        for (map, file) in [
            ("teraslice-master", "teraslice-master.yaml"),
            ("teraslice-worker", "teraslice-worker.yaml"),
        ] {
            let config: String = render(file, name, &env.image)?
                .lines()
                .filter(|l| !l.trim_start().starts_with("cpu"))
                .map(|l| format!("{l}\n"))
                .collect();
            let cm = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": map, "namespace": name},
                "data": {"teraslice.yaml": config}
            });
            env.apply(&cm.to_string()).await?;
        }
        env.apply(&render("masterDeployment.yaml", name, &env.image)?)
            .await?;
        let master = format!(
            "http://{}:5678",
            service_ip(client, name, "teraslice-master").await?
        );
        wait_ok(http, &format!("{master}/"), "the teraslice master").await?;
        Ok(TeraCluster {
            name: name.into(),
            master,
            token,
        })
    }

    /// Submits and starts `job`; its job and execution ids.
    pub async fn submit(
        &self,
        http: &reqwest::Client,
        job: &Value,
    ) -> anyhow::Result<(String, String)> {
        let res = http
            .post(format!("{}/jobs", self.master))
            .bearer_auth(&self.token)
            .json(job)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let id = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        match (status.is_success(), id("job_id"), id("ex_id")) {
            (true, Some(job_id), Some(ex_id)) => Ok((job_id, ex_id)),
            _ => bail!("POST /jobs: {status} {body}"),
        }
    }

    /// Waits until the execution has ended; fails unless it `completed`.
    pub async fn wait_completed(&self, http: &reqwest::Client, ex_id: &str) -> anyhow::Result<()> {
        let url = format!("{}/ex/{ex_id}", self.master);
        let start = Instant::now();
        loop {
            let ex: Value = match http.get(&url).bearer_auth(&self.token).send().await {
                Ok(res) => res.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            match ex.get("_status").and_then(Value::as_str) {
                Some("completed") => return Ok(()),
                Some(s @ ("failed" | "terminated" | "stopped" | "rejected")) => {
                    bail!("execution {ex_id} ended {s}: {}", ex["_failureReason"])
                }
                _ if start.elapsed() > PATIENCE => {
                    bail!("execution {ex_id} not completed after {PATIENCE:?}: {ex}")
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// Waits until no pod of the execution is left, so the next round starts on a quiet node.
pub async fn wait_pods_gone(client: &Client, ns: &str, ex_id: &str) -> anyhow::Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("teraslice.terascope.io/exId={ex_id}"));
    let start = Instant::now();
    while !pods.list_metadata(&lp).await?.items.is_empty() {
        if start.elapsed() > PATIENCE {
            bail!("pods of {ex_id} still there after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

pub async fn delete_namespace(client: &Client, name: &str) {
    let deleted = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::background())
        .await;
    if let Err(e) = deleted {
        eprintln!("bench: deleting namespace {name} failed: {e}");
    }
}

pub async fn service_ip(client: &Client, ns: &str, name: &str) -> anyhow::Result<String> {
    let svc = Api::<Service>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .with_context(|| format!("Service {ns}/{name}"))?;
    svc.spec
        .and_then(|s| s.cluster_ip)
        .with_context(|| format!("Service {ns}/{name} has no ClusterIP"))
}

/// Polls `url` until it answers 2xx.
async fn wait_ok(http: &reqwest::Client, url: &str, what: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < PATIENCE {
        match http.get(url).send().await {
            Ok(res) if res.status().is_success() => return Ok(()),
            Ok(res) => last = format!("status {}", res.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("{what} at {url} did not answer within {PATIENCE:?}: {last}")
}
