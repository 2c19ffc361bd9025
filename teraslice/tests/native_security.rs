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
