//! The master API's tokens (`teraslice.api_tokens`, `api_tokens_file`, the CLI's `--token` /
//! `TERASLICE_TOKEN`) and the per-job limits (`max_workers_per_job`, `max_slicers_per_job`).
mod api_support;

use std::process::Command;

use api_support::{assert_error, job, TestMaster};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const TOKENS: &str = "  api_tokens:\n    - admin-secret\n    - {token: read-secret, role: read}\n";

async fn call(
    m: &TestMaster,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = m.http.request(method, format!("{}{path}", m.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request reaches the master");
    let status = res.status();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn with_tokens_every_route_but_the_health_check_needs_one() {
    let m = TestMaster::start(TOKENS).await;
    let (status, root) = call(&m, Method::GET, "/", None, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "GET / stays open for health checks: {root}"
    );
    for path in [
        "/jobs",
        "/v1/ex",
        "/cluster/state",
        "/txt/jobs",
        "/v1/",
        "/no-such-route",
    ] {
        let (status, body) = call(&m, Method::GET, path, None, None).await;
        assert_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "requires an API token",
        );
    }
    let (status, body) = call(&m, Method::POST, "/jobs", Some("wrong"), Some(&job("x"))).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "not valid");
    let (status, body) = call(&m, Method::GET, "/jobs", Some("read-secret"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &m,
        Method::POST,
        "/jobs",
        Some("read-secret"),
        Some(&job("x")),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "read token");
    let (status, body) = call(&m, Method::GET, "/jobs", Some("read-secret"), None).await;
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(0),
        "the refused submission stored nothing: {status} {body}"
    );
    let (status, body) = call(
        &m,
        Method::POST,
        "/jobs?start=false",
        Some("admin-secret"),
        Some(&job("x")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn tokens_can_come_from_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tokens");
    std::fs::write(&file, "# ops team\nfile-admin\nfile-reader read\n").expect("write tokens");
    let m = TestMaster::start(&format!("  api_tokens_file: {}\n", file.display())).await;
    let (status, _) = call(&m, Method::GET, "/jobs", Some("file-reader"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&m, Method::DELETE, "/jobs/x", Some("file-reader"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&m, Method::GET, "/jobs", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_tokens_the_api_stays_open() {
    let m = TestMaster::start("").await;
    let (status, body) = call(
        &m,
        Method::POST,
        "/jobs?start=false",
        None,
        Some(&job("open")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn cli(m: &TestMaster, token: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_teraslice"));
    cmd.args(args)
        .args(["--cluster", &m.url, "--json"])
        .env_remove("TERASLICE_TOKEN");
    if let Some(t) = token {
        cmd.env("TERASLICE_TOKEN", t);
    }
    let out = cmd.output().expect("run the CLI");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_sends_its_token() {
    let m = TestMaster::start(TOKENS).await;
    let (ok, out) = cli(&m, None, &["jobs", "list"]);
    assert!(!ok && out.contains("401"), "{out}");
    let (ok, out) = cli(&m, Some("read-secret"), &["jobs", "list"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&m, None, &["jobs", "list", "--token", "admin-secret"]);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn workers_and_slicers_beyond_the_limits_are_refused() {
    let m = TestMaster::start("  max_workers_per_job: 3\n  max_slicers_per_job: 2\n").await;
    let mut big = job("big");
    big["workers"] = 4.into();
    big["slicers"] = 3.into();
    let (status, body) = m.post("/jobs", Some(&big)).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "workers: 4 workers is more than teraslice.max_workers_per_job allows (3)",
    );
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "slicers: 3 slicers is more than teraslice.max_slicers_per_job allows (2)",
    );
    let mut ok = job("ok");
    ok["workers"] = 2.into();
    let (job_id, ex_id) = m.submit(&ok).await;
    m.wait_status(&ex_id, "running").await;
    let (status, body) = m
        .post(&format!("/jobs/{job_id}/_workers?add=2"), None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "add: 4 workers is more than teraslice.max_workers_per_job allows (3)",
    );
    let (status, body) = m.post(&format!("/ex/{ex_id}/_workers?total=9"), None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "total: 9 workers");
    let (status, body) = m.post(&format!("/ex/{ex_id}/_workers?add=1"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_bad_tokens_setting_stops_the_master_with_the_field_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("teraslice.yaml");
    std::fs::write(
        &config,
        format!("teraslice:\n  cluster_manager_type: mock\n  data_dir: {}\n  api_tokens:\n    - {{token: t, role: writer}}\n", dir.path().display()),
    )
    .expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_teraslice"))
        .args(["master", "--port", "0", "--bind", "127.0.0.1", "-c"])
        .arg(&config)
        .output()
        .expect("run master");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("teraslice.api_tokens[0].role") && err.contains("admin, read"),
        "{err}"
    );
}

#[tokio::test]
async fn file_ops_are_held_to_the_file_roots() {
    let outside = tempfile::tempdir().expect("temp dir");
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::write(root.path().join("in.json"), "{}\n").expect("write input");
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).expect("symlink");
    let m = TestMaster::start(&format!("  file_roots: [{}]\n", root.path().display())).await;
    let file_job = |reader: String, exporter: String| {
        serde_json::json!({
            "name": "files",
            "operations": [
                {"_op": "file_reader", "path": reader, "format": "ldjson"},
                {"_op": "file_exporter", "path": exporter, "format": "ldjson"}
            ]
        })
    };
    let inside = |p: &str| root.path().join(p).display().to_string();
    let (status, body) = m
        .post(
            "/jobs?start=false",
            Some(&file_job(inside("in.json"), inside("out/new"))),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "paths under the root are fine: {body}"
    );
    let bad_reader = outside.path().join("x.json").display().to_string();
    for (reader, exporter, named) in [
        (bad_reader.clone(), inside("out"), bad_reader.clone()),
        (
            inside("in.json"),
            inside("escape/stolen"),
            inside("escape/stolen"),
        ),
        (
            inside("in.json"),
            inside("out/../../elsewhere"),
            inside("out/../../elsewhere"),
        ),
    ] {
        let (status, body) = m
            .post("/jobs?start=false", Some(&file_job(reader, exporter)))
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, &named);
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "is outside teraslice.file_roots",
        );
        let msg = body["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("operations[") && msg.contains("].path"),
            "{msg}"
        );
    }
}
