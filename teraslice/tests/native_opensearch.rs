//! `teraslice run` on the native backend with `teraslice.state` on OpenSearch: every slice is
//! recorded once in Teraslice's indices, a short store outage mid-job loses nothing, and an
//! outage past `teraslice.state.write_retry_timeout` fails the execution with that reason.
//! Needs `OPENSEARCH_URL` (`cargo xtask opensearch up`).
mod opensearch_relay;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use opensearch_relay::Relay;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_teraslice");
/// Only stops a broken test from hanging forever.
const PATIENCE: Duration = Duration::from_secs(180);

fn opensearch_url() -> String {
    match std::env::var("OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "OPENSEARCH_URL is not set: run `cargo xtask opensearch up` and \
             `eval \"$(cargo xtask opensearch env)\"`, or run the tests with `cargo xtask test`"
        ),
    }
}

fn cluster_name() -> String {
    format!(
        "tsrs-native-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Native backend, state on `node` under `name`; `state_extra` is appended under `state:`.
fn write_config(dir: &Path, node: &str, name: &str, state_extra: &str) -> std::path::PathBuf {
    let one = "{number_of_shards: 1, number_of_replicas: 0}";
    // Tests of this file run at once: each config gets its own slicer ports.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Below the NodePorts (30000-32767) and the ephemeral ports.
    let start = 20000 + (std::process::id().wrapping_mul(7).wrapping_add(n) % 800) * 12;
    let yaml = format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{node}\"]\n        maxRetries: 1\n\
         teraslice:\n  name: {name}\n  cluster_manager_type: native\n  workers: 8\n  shutdown_timeout: 10000\n\
         \x20 data_dir: {}\n  slicer_port_range: \"{start}:{}\"\n\
         \x20 state:\n    connection: default\n    connection_type: elasticsearch-next\n{state_extra}\
         \x20 index_settings:\n    jobs: {one}\n    execution: {one}\n    state: {one}\n    analytics: {one}\n    assets: {one}\n",
        dir.join("data").display(),
        start + 11
    );
    let path = dir.join("teraslice.yaml");
    std::fs::write(&path, yaml).expect("write teraslice.yaml");
    path
}

fn spawn_run(dir: &Path, config: &Path, job: &Value) -> Child {
    let job_path = dir.join("job.json");
    std::fs::write(&job_path, job.to_string()).expect("write job.json");
    Command::new(BIN)
        .arg("run")
        .arg(&job_path)
        .arg("-c")
        .arg(config)
        .arg("--quiet")
        .current_dir(dir)
        .env("TERASLICE_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn teraslice run")
}

async fn wait_output(child: Child) -> Output {
    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(PATIENCE, waited).await {
        Ok(Ok(Ok(out))) => out,
        other => panic!("teraslice run did not end: {other:?}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ex_id_of(out: &Output) -> String {
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("execution"))
        .map(|id| id.trim().to_string())
        .unwrap_or_else(|| panic!("no execution id in the summary: {stdout}"))
}

fn job(records: u64, per_slice: u64, delay_ms: u64) -> Value {
    json!({
        "name": "to-files", "lifecycle": "once", "workers": 3, "analytics": true,
        "operations": [
            {"_op": "data_generator", "size": records},
            {"_op": "delay", "ms": delay_ms},
            {"_op": "file_exporter", "path": "out", "format": "ldjson",
             "file_per_slice": true, "size": per_slice}
        ]
    })
}

struct Os {
    url: String,
    name: String,
    http: reqwest::Client,
}

impl Os {
    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}/{path}", self.url))
            .send()
            .await
            .expect("OpenSearch answers");
        resp.json().await.expect("OpenSearch answers JSON")
    }

    /// Every state doc of `ex_id` (refreshed first), as `(_id, _source)`.
    async fn state_docs(&self, filter: &str) -> Vec<(String, Value)> {
        let index = format!("{}__state*", self.name);
        let _ = self
            .http
            .post(format!("{}/{index}/_refresh", self.url))
            .send()
            .await;
        let body: Value = self
            .http
            .post(format!("{}/{index}/_search", self.url))
            .json(&json!({"size": 10000, "query": {"query_string": {"query": filter}}}))
            .send()
            .await
            .expect("search state")
            .json()
            .await
            .expect("search answers JSON");
        body["hits"]["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .map(|h| {
                        let id = h["_id"].as_str().unwrap_or_default().to_string();
                        (id, h["_source"].clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn cleanup(&self) {
        let _ = self
            .http
            .delete(format!("{}/{}__*", self.url, self.name))
            .send()
            .await;
    }
}

fn os() -> Os {
    Os {
        url: opensearch_url(),
        name: cluster_name(),
        http: reqwest::Client::new(),
    }
}

/// Every slice of `ex_id` is `completed`, once, under its own id; returns how many.
async fn assert_every_slice_completed_once(os: &Os, ex_id: &str) -> usize {
    let docs = os.state_docs(&format!("ex_id:\"{ex_id}\"")).await;
    let mut ids = HashSet::new();
    for (id, doc) in &docs {
        assert_eq!(doc["state"], "completed", "slice {id}: {doc}");
        assert_eq!(doc["slice_id"].as_str(), Some(id.as_str()), "{doc}");
        assert!(ids.insert(id.clone()), "slice {id} recorded twice");
    }
    docs.len()
}

fn lines_below(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                lines_below(&path)
            } else {
                std::fs::read_to_string(&path)
                    .map(|b| b.lines().filter(|l| !l.is_empty()).count())
                    .unwrap_or(0)
            }
        })
        .sum()
}

#[tokio::test]
async fn a_job_records_every_slice_once_in_teraslice_indices() {
    let os = os();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), &os.url, &os.name, "");
    let child = spawn_run(dir.path(), &config, &job(3000, 100, 0));
    let out = wait_output(child).await;
    assert!(
        out.status.success(),
        "run failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let ex_id = ex_id_of(&out);
    assert_eq!(lines_below(&dir.path().join("out")), 3000);
    assert_eq!(assert_every_slice_completed_once(&os, &ex_id).await, 30);

    let ex = os.get(&format!("{}__ex/_doc/{ex_id}", os.name)).await;
    let src = &ex["_source"];
    assert_eq!(src["_status"], "completed", "{ex}");
    assert_eq!(src["_context"], "ex", "{ex}");
    assert_eq!(src["ex_id"], ex_id.as_str(), "{ex}");
    assert_eq!(src["_has_errors"], false, "{ex}");
    assert!(src["_slicer_stats"].is_object(), "{ex}");
    assert!(
        src["_created"].is_string() && src["_updated"].is_string(),
        "{ex}"
    );
    assert_eq!(src["operations"][0]["_op"], "data_generator", "{ex}");
    let job_id = src["job_id"].as_str().expect("job_id").to_string();
    let job = os.get(&format!("{}__jobs/_doc/{job_id}", os.name)).await;
    assert_eq!(job["_source"]["_context"], "job", "{job}");
    assert_eq!(job["_source"]["name"], "to-files", "{job}");
    assert_eq!(job["_source"]["workers"], 3, "{job}");
    os.cleanup().await;
}

/// Waits until at least `n` slices of this cluster are completed (read around the relay).
async fn wait_completed(os: &Os, n: usize) {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if os.state_docs("state:completed").await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("fewer than {n} slices completed in time");
}

#[tokio::test]
async fn a_store_outage_of_a_few_seconds_mid_job_loses_no_slice() {
    let os = os();
    let relay = Relay::start(&os.url).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), &relay.url(), &os.name, "");
    let child = spawn_run(dir.path(), &config, &job(12000, 100, 150));
    wait_completed(&os, 5).await;
    relay.cut().await;
    let before = os.state_docs("state:completed").await.len();
    assert!(
        before < 120,
        "the cut came after the job ended: make the job longer"
    );
    // How long the store stays away: below the default write_retry_timeout (5 min).
    tokio::time::sleep(Duration::from_secs(5)).await;
    relay.restore().await;
    let out = wait_output(child).await;
    assert!(
        out.status.success(),
        "run failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let ex_id = ex_id_of(&out);
    let ec_log = std::fs::read_to_string(
        dir.path()
            .join("data")
            .join("logs")
            .join(&ex_id)
            .join("ec.log"),
    )
    .unwrap_or_default();
    assert!(
        ec_log.contains("keeping the write buffered"),
        "the EC met the outage: {ec_log}"
    );
    assert_eq!(assert_every_slice_completed_once(&os, &ex_id).await, 120);
    assert_eq!(lines_below(&dir.path().join("out")), 12000);
    os.cleanup().await;
}

#[tokio::test]
async fn a_master_started_while_the_store_is_unreachable_waits_for_it_then_serves() {
    let os = os();
    let relay = Relay::start(&os.url).await;
    relay.cut().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), &relay.url(), &os.name, "");
    let child = spawn_run(dir.path(), &config, &job(1000, 100, 0));
    // Below the connector's startupTimeout (2 minutes by default).
    tokio::time::sleep(Duration::from_secs(3)).await;
    relay.restore().await;
    let out = wait_output(child).await;
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "run failed: {}{stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains("state store not reachable yet; retrying"),
        "each failed try is logged with its reason: {stderr}"
    );
    let ex_id = ex_id_of(&out);
    assert_eq!(assert_every_slice_completed_once(&os, &ex_id).await, 10);
    os.cleanup().await;
}

/// Waits until some EC log below `dir` (`data/logs/<ex_id>/ec.log`) contains `text`.
async fn wait_for_ec_log(dir: &Path, text: &str) {
    let logs = dir.join("data").join("logs");
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        let found = std::fs::read_dir(&logs).into_iter().flatten().any(|e| {
            e.ok()
                .and_then(|e| std::fs::read_to_string(e.path().join("ec.log")).ok())
                .is_some_and(|log| log.contains(text))
        });
        if found {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no EC log says \"{text}\"");
}

#[tokio::test]
async fn a_store_outage_past_write_retry_timeout_fails_the_execution_with_that_reason() {
    let os = os();
    let relay = Relay::start(&os.url).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        dir.path(),
        &relay.url(),
        &os.name,
        "    write_retry_timeout: 3 seconds\n",
    );
    let child = spawn_run(dir.path(), &config, &job(20000, 100, 150));
    wait_completed(&os, 5).await;
    relay.cut().await;
    // Back once the EC has given up (past the 3 s limit), within its window for the final status.
    wait_for_ec_log(dir.path(), "execution failed").await;
    relay.restore().await;
    let out = wait_output(child).await;
    assert!(!out.status.success(), "the run should fail");
    let ex_id = ex_id_of(&out);
    let ex = os.get(&format!("{}__ex/_doc/{ex_id}", os.name)).await;
    let src = &ex["_source"];
    assert_eq!(src["_status"], "failed", "{ex}");
    let reason = src["_failureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("teraslice.state.write_retry_timeout"),
        "the reason names the limit: {reason}"
    );
    os.cleanup().await;
}
