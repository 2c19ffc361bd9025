//! On the native backend: the execution controller's control routes need the execution's
//! secret (which the master sends and the API never shows), and a job too large for one
//! environment variable still reaches its processes (they load it from the store).
mod api_support;

use api_support::TestMaster;
use reqwest::StatusCode;
use serde_json::{json, Value};

const NATIVE: &str = "  workers: 4\n";

#[tokio::test]
async fn the_controller_refuses_control_requests_without_the_execution_secret() {
    let m = TestMaster::start_native(NATIVE).await;
    let spec = json!({
        "name": "guarded",
        "lifecycle": "persistent",
        "workers": 1,
        "operations": [{"_op": "data_generator", "size": 10}, {"_op": "delay", "ms": 50}, {"_op": "noop"}]
    });
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "running").await;
    let (_, ex) = m.get(&format!("/ex/{ex_id}")).await;
    assert!(
        ex.get("_control_secret").is_none(),
        "the API never shows the secret: {ex}"
    );
    let (_, listed) = m.get("/ex").await;
    assert!(!listed.to_string().contains("_control_secret"), "{listed}");
    let ec = format!(
        "http://{}:{}",
        ex["slicer_hostname"].as_str().expect("slicer_hostname"),
        ex["slicer_port"].as_u64().expect("slicer_port")
    );
    let http = reqwest::Client::new();
    for (method, path) in [
        ("POST", "/api/v1/pause"),
        ("POST", "/api/v1/stop"),
        ("GET", "/api/v1/analytics"),
    ] {
        let req = http.request(method.parse().expect("method"), format!("{ec}{path}"));
        let res = req.bearer_auth("guess").send().await.expect("EC answers");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let health = http
        .get(format!("{ec}/health"))
        .send()
        .await
        .expect("EC answers");
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the readiness check stays open"
    );
    assert_eq!(
        m.status_of(&ex_id).await,
        "running",
        "nothing reached the controller"
    );
    // The master has the secret: its pause and stop go through.
    let (status, body) = m.post(&format!("/jobs/{job_id}/_pause"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "paused"}))
    );
    let (status, body) = m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    m.wait_status(&ex_id, "stopped").await;
}

#[tokio::test]
async fn a_job_larger_than_an_environment_variable_runs() {
    let m = TestMaster::start_native(NATIVE).await;
    // Linux caps one environment string at 128 KiB; the API takes jobs up to 1 MiB.
    let padding: Value = "x".repeat(300 * 1024).into();
    let spec = json!({
        "name": "large",
        "workers": 1,
        "padding": padding,
        "operations": [{"_op": "data_generator", "size": 20}, {"_op": "noop"}]
    });
    let (_, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "completed").await;
}

/// Every file below `dir`, as text (lossy), with its path.
fn files_below(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// A connector whose node URL carries credentials: they reach neither a log line nor the
/// stored records (`_failureReason` included), though the execution fails on that node.
#[tokio::test]
async fn credentials_in_a_node_url_are_never_logged_or_stored() {
    const PASSWORD: &str = "s3cr3t-pw";
    let dir = tempfile::tempdir().expect("temp dir");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let yaml = format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"http://elastic:{PASSWORD}@127.0.0.1:{port}\"]\n        maxRetries: 0\n\
         teraslice:\n  name: redacttest\n  cluster_manager_type: native\n  data_dir: {}\n  workers: 2\n  shutdown_timeout: 5000\n  slicer_port_range: \"{}:{}\"\n",
        dir.path().join("data").display(),
        21000 + std::process::id() % 700 * 12,
        21011 + std::process::id() % 700 * 12,
    );
    let config = dir.path().join("teraslice.yaml");
    std::fs::write(&config, yaml).expect("write config");
    let job = json!({
        "name": "creds",
        "workers": 1,
        "operations": [
            {"_op": "elasticsearch_reader", "index": "logs", "date_field_name": "created"},
            {"_op": "noop"}
        ]
    });
    let job_path = dir.path().join("job.json");
    std::fs::write(&job_path, job.to_string()).expect("write job");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teraslice"))
        .arg("run")
        .arg(&job_path)
        .arg("-c")
        .arg(&config)
        .arg("--quiet")
        .current_dir(dir.path())
        .env("TERASLICE_LOG", "debug")
        .output()
        .expect("run");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the execution fails: {printed}");
    assert!(
        printed.contains(&format!("127.0.0.1:{port}")),
        "the failure names the node: {printed}"
    );
    assert!(!printed.contains(PASSWORD), "output: {printed}");
    let files = files_below(&dir.path().join("data"));
    assert!(
        files.iter().any(|(p, _)| p.ends_with("ec.log")),
        "the controller's log is there to check: {files:?}"
    );
    for (path, text) in &files {
        assert!(
            !text.contains(PASSWORD),
            "{} holds the password",
            path.display()
        );
    }
    // The stored failure reason, read back from the SQLite file's records (in the file or in
    // its write-ahead log, where `teraslice run` leaves the last writes for the next open).
    let stored: Vec<&String> = files
        .iter()
        .filter(|(p, _)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name == "teraslice.sqlite" || name == "teraslice.sqlite-wal"
        })
        .map(|(_, text)| text)
        .collect();
    assert!(!stored.is_empty(), "no SQLite file in {files:?}");
    assert!(
        stored
            .iter()
            .any(|t| t.contains(&format!("127.0.0.1:{port}"))),
        "the stored failure names the node"
    );
}
