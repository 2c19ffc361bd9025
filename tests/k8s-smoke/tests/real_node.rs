//! The real node of `cargo xtask k8s up` runs pods for real: a container's output comes back
//! through the kubelet, Services work through kube-proxy and their names through CoreDNS, and a
//! missing image fails the way a kubelet reports it. Every test uses a namespace annotated so
//! that its pods go to the real node (node selector + toleration of its taint).
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use kube::Client;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(120);
const IMAGE: &str = "localhost/busybox:test";

/// The real node's name, selector and tolerations from `cargo xtask k8s env`.
struct RealNode {
    name: String,
    selector: String,
    tolerations: String,
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| {
        panic!(
            "{key} is not set: run `cargo xtask k8s up` (the real node is part of it unless \
             TERASLICE_K8S_NODE=0) and export the variables of `cargo xtask k8s env`"
        )
    })
}

fn real_node() -> RealNode {
    RealNode {
        name: env("TERASLICE_K8S_REAL_NODE"),
        selector: env("TERASLICE_K8S_REAL_NODE_SELECTOR"),
        tolerations: env("TERASLICE_K8S_REAL_NODE_TOLERATIONS"),
    }
}

async fn admin() -> Client {
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!("KUBECONFIG is not set: run `cargo xtask k8s up` and export the variables of `cargo xtask k8s env`");
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::try_default()
        .await
        .unwrap_or_else(|e| panic!("reading KUBECONFIG failed ({e}); run `cargo xtask k8s up`"))
}

/// A namespace whose pods all land on the real node.
struct NodeNamespace {
    client: Client,
    name: String,
}

impl NodeNamespace {
    async fn create(client: &Client, node: &RealNode, prefix: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let name = format!(
            "{prefix}-{}-{}-{}",
            std::process::id(),
            t % 100_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ns: Namespace = serde_json::from_value(json!({"metadata": {
            "name": name,
            "annotations": {
                "scheduler.alpha.kubernetes.io/node-selector": node.selector,
                "scheduler.alpha.kubernetes.io/defaultTolerations": node.tolerations,
            },
        }}))
        .expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        NodeNamespace {
            client: client.clone(),
            name,
        }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Best effort: the namespace controller and the kubelet finish it in the background.
    async fn delete(self) {
        let _ = Api::<Namespace>::all(self.client)
            .delete(&self.name, &DeleteParams::default())
            .await;
    }
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > TIMEOUT {
            panic!("timed out after {TIMEOUT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A pod of busybox running `script`; no node selector or toleration of its own.
fn shell_pod(name: &str, image: &str, script: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "main",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
            }],
        },
    }))
    .expect("pod")
}

/// Waits until the pod ended (Succeeded or Failed) and returns it with its log.
async fn finished(pods: &Api<Pod>, name: &str) -> (Pod, String) {
    let pod = eventually(&format!("pod {name} to finish"), || async {
        let pod = pods.get(name).await.ok()?;
        let phase = pod.status.as_ref()?.phase.clone()?;
        (phase == "Succeeded" || phase == "Failed").then_some(pod)
    })
    .await;
    let log = pods
        .logs(name, &LogParams::default())
        .await
        .unwrap_or_else(|e| panic!("logs of {name} through the apiserver and kubelet: {e}"));
    (pod, log)
}

/// A plain HTTP/1.0 GET of `/`; the whole response, or None if it failed.
async fn http_get(host: &str, port: i32) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connect = tokio::net::TcpStream::connect((host, u16::try_from(port).ok()?));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .ok()?
        .ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .ok()?
        .ok()?;
    Some(response)
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("?")
}

#[tokio::test]
async fn a_pod_runs_on_the_real_node_and_its_log_comes_from_the_kubelet() {
    let node = real_node();
    let client = admin().await;
    let ns = NodeNamespace::create(&client, &node, "real-echo").await;
    let pods = ns.pods();
    let text = format!("hello from {}", ns.name);
    pods.create(
        &PostParams::default(),
        &shell_pod("echo", IMAGE, &format!("echo '{text}'")),
    )
    .await
    .expect("create pod");
    let (pod, log) = finished(&pods, "echo").await;
    assert_eq!(phase(&pod), "Succeeded", "{:?}", pod.status);
    let spec = pod.spec.as_ref().expect("spec");
    assert_eq!(spec.node_name.as_deref(), Some(node.name.as_str()));
    assert!(log.contains(&text), "log: {log:?}");
    ns.delete().await;
}

#[tokio::test]
async fn a_service_answers_on_its_cluster_ip_under_its_dns_names_and_on_its_node_port() {
    let node = real_node();
    let client = admin().await;
    let ns = NodeNamespace::create(&client, &node, "real-svc").await;
    let token = format!("served in {}", ns.name);
    let web: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "httpd",
                        "image": IMAGE,
                        "command": ["sh", "-c", format!(
                            "mkdir -p /www && echo '{token}' > /www/index.html && exec httpd -f -p 8080 -h /www"
                        )],
                        "ports": [{"containerPort": 8080}],
                    }],
                },
            },
        },
    }))
    .expect("deployment");
    Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &web)
        .await
        .expect("create deployment");
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080}],
        },
    }))
    .expect("service");
    let svc = Api::<Service>::namespaced(client.clone(), &ns.name)
        .create(&PostParams::default(), &svc)
        .await
        .expect("create service");
    let node_port = svc
        .spec
        .and_then(|s| s.ports?.first()?.node_port)
        .expect("a NodePort");
    // Short name, <svc>.<ns> and the full name, each through the ClusterIP (port 80, not 8080).
    // (busybox-static's `wget -T` crashes: `timeout` bounds each try instead.)
    let names = [
        "web".to_string(),
        format!("web.{}", ns.name),
        format!("web.{}.svc.cluster.local", ns.name),
    ];
    let script = names
        .iter()
        .map(|host| {
            format!(
                "ok=; for i in $(seq 60); do if timeout 5 wget -q -O - http://{host}/; then ok=1; break; fi; sleep 1; done; [ -n \"$ok\" ] || {{ echo 'no answer from {host}'; exit 1; }}"
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let pods = ns.pods();
    pods.create(&PostParams::default(), &shell_pod("client", IMAGE, &script))
        .await
        .expect("create client pod");
    let (pod, log) = finished(&pods, "client").await;
    assert_eq!(phase(&pod), "Succeeded", "client log: {log:?}");
    assert_eq!(log.matches(&token).count(), names.len(), "log: {log:?}");
    // From the host, the NodePort on the node's address and on loopback (kube-proxy).
    for host in ["10.88.0.1", "127.0.0.1"] {
        let body = eventually(&format!("{host}:{node_port} to answer"), || {
            http_get(host, node_port)
        })
        .await;
        assert!(
            body.contains(&token),
            "{host}:{node_port} answered {body:?}"
        );
    }
    ns.delete().await;
}

#[tokio::test]
async fn a_pod_reaches_the_apiserver_through_the_kubernetes_service() {
    let node = real_node();
    let client = admin().await;
    let ns = NodeNamespace::create(&client, &node, "real-api").await;
    let pods = ns.pods();
    // Where in-cluster clients go: $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (10.96.0.1:443
    // -> kube-proxy -> the apiserver on the node's address), and the name resolves there too.
    // busybox's own TLS cannot talk to the apiserver (no cipher suite in common), so plain HTTP
    // goes in and the apiserver's Go TLS server answers that it wants TLS.
    let script = "nslookup kubernetes.default.svc.cluster.local | grep -q '^Address: 10.96.0.1$' \
        || { echo 'kubernetes.default.svc.cluster.local does not resolve to 10.96.0.1'; exit 1; }; \
        printf 'GET /version HTTP/1.0\\r\\n\\r\\n' | nc -w 10 $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT";
    pods.create(&PostParams::default(), &shell_pod("api", IMAGE, script))
        .await
        .expect("create pod");
    let (pod, log) = finished(&pods, "api").await;
    assert_eq!(phase(&pod), "Succeeded", "log: {log:?}");
    assert!(
        log.contains("Client sent an HTTP request to an HTTPS server"),
        "log: {log:?}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn a_missing_image_fails_to_pull_as_the_kubelet_reports_it() {
    let node = real_node();
    let client = admin().await;
    let ns = NodeNamespace::create(&client, &node, "real-nope").await;
    let pods = ns.pods();
    pods.create(
        &PostParams::default(),
        &shell_pod("nope", "localhost/nope:1", "true"),
    )
    .await
    .expect("create pod");
    let reason = eventually("an image pull error in the container status", || async {
        let pod = pods.get("nope").await.ok()?;
        let statuses = pod.status?.container_statuses?;
        let waiting = statuses.first()?.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.clone()?;
        ["ErrImagePull", "ImagePullBackOff"]
            .contains(&reason.as_str())
            .then_some(reason)
    })
    .await;
    assert!(reason == "ErrImagePull" || reason == "ImagePullBackOff");
    ns.delete().await;
}
