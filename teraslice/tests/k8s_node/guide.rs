//! The guide's workflow, as a user types it: `make setup-all`, `show`, `register`, `example`,
//! `logs-*`, `start`/`stop`, `destroy-all` in `examples/k8s`, against the plane's real node. The
//! master needs the API token `make token` made; the Makefile passes it to the CLI.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::Api;
use serde_json::Value;

use super::cluster::{client, service_ip, unique, wait_http_ok, PATIENCE};
use super::env::NodeEnv;
use super::jobs::serial;
use super::kubectl::examples_dir;
use super::store::slice_states_at;

struct Make {
    vars: Vec<String>,
}

impl Make {
    /// `make -C examples/k8s <target> <vars>`; its stdout, or a panic with both streams.
    fn run(&self, target: &str, extra: &[String]) -> String {
        let out = Command::new("make")
            .arg("-C")
            .arg(examples_dir())
            .arg(target)
            .args(&self.vars)
            .args(extra)
            .output()
            .expect("run make");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            panic!(
                "make {target} failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        stdout
    }
}

/// Deletes the namespace (without waiting) when the test ends, passed or not.
struct DeleteNamespace(std::path::PathBuf, String);

impl Drop for DeleteNamespace {
    fn drop(&mut self) {
        let _ = Command::new(&self.0)
            .args([
                "delete",
                "namespace",
                &self.1,
                "--ignore-not-found",
                "--wait=false",
            ])
            .output();
    }
}

/// The real node's InternalIP, where the NodePorts answer.
async fn real_node_ip(name: &str) -> String {
    let node = Api::<Node>::all(client().await)
        .get(name)
        .await
        .expect("the real node");
    node.status
        .and_then(|s| s.addresses)
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address)
        .expect("the real node has an InternalIP")
}

/// The token `make token` stored in the Secret `teraslice-api-tokens`.
fn api_token(env: &NodeEnv, namespace: &str) -> String {
    let out = Command::new(&env.kubectl)
        .args([
            "-n",
            namespace,
            "get",
            "secret",
            "teraslice-api-tokens",
            "-o",
            "jsonpath={.data.tokens}",
        ])
        .output()
        .expect("run kubectl");
    let encoded = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &encoded)
        .unwrap_or_default();
    let token = String::from_utf8_lossy(&decoded).trim().to_string();
    assert!(!token.is_empty(), "make token made no token: {encoded:?}");
    token
}

/// The first job id (a UUID) in `text`.
fn job_id_in(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no job id in: {text}"))
        .to_string()
}

/// example-job.json with the same operations, scaled down to finish in a test: fewer records
/// and a shorter delay per slice.
fn quick_example(dir: &Path) -> String {
    let text =
        std::fs::read_to_string(examples_dir().join("example-job.json")).expect("example-job.json");
    let mut job: Value = serde_json::from_str(&text).expect("example-job.json is JSON");
    job["operations"][0]["size"] = 20_000.into();
    job["operations"][1]["ms"] = 500.into();
    let path = dir.join("example-job-quick.json");
    std::fs::write(&path, job.to_string()).expect("write the quick example");
    path.display().to_string()
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

async fn wait_ex_status(
    http: &reqwest::Client,
    master: &str,
    job_id: &str,
    want: &[&str],
) -> Value {
    let start = Instant::now();
    loop {
        if let Ok(res) = http.get(format!("{master}/jobs/{job_id}/ex")).send().await {
            if let Ok(ex) = res.json::<Value>().await {
                if want.contains(&ex["_status"].as_str().unwrap_or("")) {
                    return ex;
                }
                if start.elapsed() > PATIENCE {
                    panic!("job {job_id} not in {want:?} after {PATIENCE:?}: {ex:#}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_makefile_workflow_runs_the_example_on_the_real_node() {
    let _one = serial().await;
    let env = NodeEnv::get();
    let namespace = unique("e2e-guide");
    // Its own NodePorts, so a cluster left by another run cannot be in the way.
    let master_port = 30000 + (uuid::Uuid::new_v4().as_u128() % 1300) as u16 * 2;
    let annotations: Vec<String> = env
        .annotation_args()
        .iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let make = Make {
        vars: vec![
            format!("NAMESPACE={namespace}"),
            format!("TERASLICE_K8S_IMAGE={}", env.image),
            format!("KUBECTL_BIN={}", env.kubectl.display()),
            format!("NAMESPACE_ANNOTATIONS={}", annotations.join(" ")),
            format!("NODE_SELECTOR=kubernetes.io/hostname={}", env.real_node),
            format!("TERASLICE_BIN={}", env!("CARGO_BIN_EXE_teraslice")),
            format!("MASTER_NODE_PORT={master_port}"),
            format!("ES_NODE_PORT={}", master_port + 1),
        ],
    };
    // A failed run still removes what it made (the NodePorts stay taken until then).
    let _cleanup = DeleteNamespace(env.kubectl.clone(), namespace.clone());
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = format!(
        "http://{}:{master_port}",
        real_node_ip(&env.real_node).await
    );

    make.run("setup-all", &[]);
    // `make token` put a random API token in the Secret; every call but `GET /` needs it.
    let token = api_token(&env, &namespace);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .expect("http");
    wait_http_ok(&http, &format!("{master}/"), "the master's NodePort").await;
    let open = reqwest::Client::new();
    let refused = open
        .get(format!("{master}/jobs"))
        .send()
        .await
        .expect("the master answers");
    assert_eq!(
        refused.status(),
        401,
        "the example's master needs the token"
    );
    let show = make.run("show", &[]);
    assert!(
        show.contains("deployment.apps/teraslice-master"),
        "make show:\n{show}"
    );
    assert!(show.contains("service/elasticsearch"), "make show:\n{show}");

    // Every example job is accepted as it is.
    make.run("register", &[]);
    let jobs = get_json(&http, &format!("{master}/jobs?size=100")).await;
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(8),
        "registered jobs: {jobs:#}"
    );

    let submitted = make.run(
        "example",
        &[format!("EXAMPLE_JOB={}", quick_example(tmp.path()))],
    );
    let job_id = job_id_in(&submitted);
    wait_ex_status(&http, &master, &job_id, &["running"]).await;
    // The EC and worker pods' own logs, through the kubelet.
    let mut logs = String::new();
    for _ in 0..60 {
        logs = make.run("logs-worker", &[]) + &make.run("logs-slicer", &[]);
        if logs.contains("ts-wkr-") && logs.contains("ts-exc-") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        logs.contains("ts-wkr-") && logs.contains("ts-exc-"),
        "pod logs:\n{logs}"
    );
    let done = wait_ex_status(
        &http,
        &master,
        &job_id,
        &["completed", "failed", "terminated"],
    )
    .await;
    assert_eq!(done["_status"], "completed", "{done:#}");
    // Its slices are in `<cluster>__state*` of the namespace's own OpenSearch.
    let store = format!(
        "http://{}:9200",
        service_ip(&client().await, &namespace, "elasticsearch").await
    );
    let states = slice_states_at(&store, &namespace, done["ex_id"].as_str().unwrap_or("")).await;
    assert!(
        !states.is_empty(),
        "no slice of the example in {namespace}__state*"
    );
    assert!(
        states.iter().all(|s| s["state"] == "completed"),
        "{states:?}"
    );
    assert!(
        !make.run("logs-master", &[]).trim().is_empty(),
        "master logs"
    );

    // Start a registered job and stop it with the Makefile.
    let labels_job = jobs
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|j| j["name"] == "example-data-generator-job-labels")
        })
        .and_then(|j| j["job_id"].as_str())
        .expect("the labels example is registered")
        .to_string();
    make.run("start", &[format!("JOB_ID={labels_job}")]);
    wait_ex_status(&http, &master, &labels_job, &["running"]).await;
    make.run("stop", &[format!("JOB_ID={labels_job}")]);
    wait_ex_status(&http, &master, &labels_job, &["stopped"]).await;

    make.run("destroy-all", &[]);
    let start = Instant::now();
    let namespaces = Api::<Namespace>::all(client().await);
    while namespaces
        .get_opt(&namespace)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        assert!(
            start.elapsed() < PATIENCE,
            "namespace {namespace} still there after destroy-all"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
