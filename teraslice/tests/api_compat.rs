//! What Teraslice's own clients rely on: paths with a trailing slash, refusals the client can
//! read while it is still uploading, and Teraslice's exact messages.
mod api_support;

use std::time::Duration;

use api_support::{assert_error, job, TestMaster};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn every_route_answers_with_and_without_a_trailing_slash() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.submit(&job("slashes")).await;
    let json_paths = [
        "/v1/".to_string(),
        "/jobs/".into(),
        "/v1/jobs/".into(),
        "/cluster/state/".into(),
        "/v1/cluster/state/".into(),
        "/cluster/stats/".into(),
        "/ex/".into(),
        "/v1/ex/".into(),
        "/assets/".into(),
        "/v1/assets/standard/".into(),
        format!("/jobs/{job_id}/"),
        format!("/v1/jobs/{job_id}/ex/"),
        format!("/ex/{ex_id}/"),
    ];
    for path in &json_paths {
        let (status, body) = m.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    }
    for path in ["/txt/ex/", "/txt/jobs/", "/txt/assets/", "/txt/nodes/"] {
        let (status, body) = m.text(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    }
    let (status, body) = m.post(&format!("/v1/jobs/{job_id}/_stop/"), None).await;
    assert_eq!(status, StatusCode::OK, "POST with a slash: {body}");
    // An unknown path is still Teraslice's 405, slash or not.
    let (status, body) = m.get("/jobs/x/nothing/").await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, "cannot GET");
}

/// Sends `POST /assets` with a 200 KB body in 8 KB pieces, as a client streaming a zip does,
/// over a plain socket: a server that answered and closed early makes a write fail.
async fn streamed_upload(url: &str, path: &str, size: usize) -> String {
    let addr = url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.expect("send head");
    let piece = vec![b'z'; 8 * 1024];
    let mut sent = 0;
    while sent < size {
        let n = piece.len().min(size - sent);
        socket
            .write_all(&piece[..n])
            .await
            .unwrap_or_else(|e| panic!("upload cut off after {sent} of {size} bytes: {e}"));
        sent += n;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.expect("read answer");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_refused_upload_is_read_before_the_answer() {
    let m = TestMaster::start("").await;
    let answer = streamed_upload(&m.url, "/assets", 200 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("uploaded assets are not supported"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_oversize_upload_gets_a_readable_413() {
    let m = TestMaster::start("  api_payload_limit: 100kb\n").await;
    let answer = streamed_upload(&m.url, "/v1/assets", 300 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("api_payload_limit"), "{answer}");
}

#[tokio::test]
async fn a_deleted_job_says_what_cannot_be_done_as_teraslice_does() {
    let m = TestMaster::start("").await;
    let (status, body) = m.post("/jobs?start=false", Some(&job("gone"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job_id = body["job_id"].as_str().unwrap_or_default().to_string();
    let (status, body) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let said = |what: &str| format!("Job {job_id} has been deleted and cannot be {what}.");
    let (status, body) = m.post(&format!("/jobs/{job_id}/_start"), None).await;
    assert_error(status, &body, StatusCode::GONE, &said("started"));
    let (status, body) = m
        .call(Method::PUT, &format!("/jobs/{job_id}"), Some(&job("gone")))
        .await;
    assert_error(status, &body, StatusCode::GONE, &said("updated"));
    for flag in ["_active", "_inactive"] {
        let (status, body) = m.post(&format!("/jobs/{job_id}/{flag}"), None).await;
        assert_error(status, &body, StatusCode::GONE, &said("updated"));
    }
    let (status, body) = m.post(&format!("/jobs/{job_id}/_recover"), None).await;
    assert_error(status, &body, StatusCode::GONE, &said("recovered"));
    assert_eq!(
        body["message"],
        said("recovered"),
        "exactly Teraslice's words"
    );
    let (status, body) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::GONE,
        &format!("Job {job_id} has already been deleted."),
    );
}

#[tokio::test]
async fn small_shapes_match_teraslice() {
    let m = TestMaster::start("").await;
    let (_, info) = m.get("/v1/").await;
    assert_eq!(info["teraslice_version"], "v3.18.0", "{info}");
    let own = info["teraslice_rs_version"].as_str().unwrap_or_default();
    assert!(own.starts_with('v') && own != "v3.18.0", "{info}");
    let arch = info["arch"].as_str().unwrap_or_default().to_string();
    assert!(!arch.is_empty() && arch != "x86_64", "Node's word: {info}");
    let (_, assets) = m.get("/assets").await;
    for asset in assets.as_array().into_iter().flatten() {
        assert_eq!(
            asset["arch"],
            arch.as_str(),
            "the same arch everywhere: {asset}"
        );
    }

    let (job_id, ex_id) = m.submit(&job("shapes")).await;
    let (_, stored) = m.get(&format!("/jobs/{job_id}")).await;
    assert!(
        stored.get("_deleted").is_none(),
        "new jobs have no _deleted: {stored}"
    );
    let (_, listed) = m.get("/jobs").await;
    assert!(listed[0].get("_deleted").is_none(), "{listed}");
    for path in [format!("/jobs/{job_id}?ex="), "/jobs?ex=".to_string()] {
        let (_, with_ex) = m.get(&path).await;
        let ex = if with_ex.is_array() {
            &with_ex[0]["ex"]
        } else {
            &with_ex["ex"]
        };
        assert_eq!(ex["ex_id"], ex_id.as_str(), "{path}: {with_ex}");
        for key in ["_status", "operations", "_created", "workers", "name"] {
            assert!(
                ex.get(key).is_some(),
                "{path}: every field, {key} missing: {ex}"
            );
        }
    }
}

/// `2026-12-06T13:55:58.896Z`: what JavaScript's `Date.toISOString()` writes.
fn assert_iso_millis(what: &str, v: &serde_json::Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    let ok = s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok();
    assert!(
        ok,
        "{what} should look like 2026-12-06T13:55:58.896Z, got {s}"
    );
}

#[tokio::test]
async fn dates_are_iso_with_milliseconds_and_z() {
    let m = TestMaster::start_native("  workers: 4\n").await;
    let spec = serde_json::json!({
        "name": "dates",
        "workers": 1,
        "operations": [{"_op": "data_generator", "size": 20}, {"_op": "noop"}]
    });
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "completed").await;
    let (_, ex) = m.get(&format!("/ex/{ex_id}")).await;
    for key in ["_created", "_updated"] {
        assert_iso_millis(key, &ex[key]);
    }
    for key in ["started", "queuing_complete"] {
        assert_iso_millis(&format!("_slicer_stats.{key}"), &ex["_slicer_stats"][key]);
    }
    let (_, deleted) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    for key in ["_created", "_updated", "_deleted_on"] {
        assert_iso_millis(key, &deleted[key]);
    }
    let (_, read_back) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(
        read_back["_deleted_on"], deleted["_deleted_on"],
        "{read_back}"
    );
}

#[tokio::test]
async fn executions_and_cluster_state_name_assets_by_id_and_show_the_master() {
    let m = TestMaster::start_native("  workers: 6\n").await;
    let (_, assets) = m.get("/assets").await;
    let id_of = |name: &str| {
        assets
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == name)
            .and_then(|a| a["id"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (standard, file) = (id_of("standard"), id_of("file"));
    let mut spec = serde_json::json!({
        "name": "with-assets",
        "lifecycle": "persistent",
        "workers": 1,
        "assets": ["standard:4.0.0", file.clone()],
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 50},
            {"_op": "noop"}
        ]
    });
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "running").await;
    let (_, stored) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(
        stored["assets"], spec["assets"],
        "the job keeps what was submitted"
    );
    let (_, ex) = m.get(&format!("/ex/{ex_id}")).await;
    assert_eq!(ex["assets"], serde_json::json!([standard, file]), "{ex}");

    let (_, state) = m.get("/cluster/state/").await;
    let node = state.as_object().and_then(|n| n.values().next()).cloned();
    let node = node.unwrap_or_default();
    for key in ["pid", "node_version", "teraslice_version"] {
        assert!(node.get(key).is_some(), "{key} on the node: {node}");
    }
    assert_eq!(node["teraslice_version"], "v3.18.0");
    let active = node["active"].as_array().cloned().unwrap_or_default();
    assert_eq!(active[0]["assignment"], "cluster_master", "{node}");
    assert_eq!(active[1]["assignment"], "assets_service", "{node}");
    assert!(
        active.iter().all(|p| p["worker_id"].is_u64()),
        "numbers: {node}"
    );
    let total = node["total"].as_i64().unwrap_or_default();
    let available = node["available"].as_i64().unwrap_or_default();
    assert_eq!(available, total - active.len() as i64, "{node}");
    let ec = active
        .iter()
        .find(|p| p["assignment"] == "execution_controller");
    assert_eq!(ec.map(|p| p["assets"].clone()), Some(ex["assets"].clone()));
    spec["assets"] = serde_json::json!(["0000000000000000000000000000000000000000"]);
    let (status, body) = m.post("/jobs?start=false", Some(&spec)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "assets[0]");
    let (status, _) = m.post(&format!("/jobs/{job_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keys_read_back_in_the_order_written() {
    let m = TestMaster::start("").await;
    let body = r#"{"workers": 1, "name": "order", "zeta": 1, "operations": [{"_op": "test-reader", "zz": 1, "aa": 2}, {"_op": "noop"}], "alpha": {"y": 1, "b": 2}, "env_vars": {"Z_LAST": "1", "A_FIRST": "2"}}"#;
    let (status, started) = m.raw(Method::POST, "/jobs", body.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let job_id = started["job_id"].as_str().unwrap_or_default().to_string();
    let (_, text) = m.text(&format!("/jobs/{job_id}")).await;
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("\"workers\"") < at("\"name\""), "{text}");
    assert!(at("\"name\"") < at("\"zeta\""), "{text}");
    assert!(at("\"zeta\"") < at("\"operations\""), "{text}");
    assert!(at("\"zz\"") < at("\"aa\""), "{text}");
    assert!(at("\"y\"") < at("\"b\""), "{text}");
    assert!(at("\"Z_LAST\"") < at("\"A_FIRST\""), "{text}");
    assert!(
        at("\"alpha\"") < at("\"job_id\""),
        "bookkeeping after the spec: {text}"
    );
    let (_, ex) = m.text(&format!("/jobs/{job_id}/ex")).await;
    let at = |needle: &str| {
        ex.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {ex}"))
    };
    assert!(
        at("\"Z_LAST\"") < at("\"A_FIRST\""),
        "env_vars in the job's order: {ex}"
    );
}

#[tokio::test]
async fn settings_change_the_log_level_of_a_running_executions_processes() {
    let m = TestMaster::start_native("  workers: 4\n").await;
    let spec = serde_json::json!({
        "name": "log-level",
        "lifecycle": "persistent",
        "workers": 1,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 50},
            {"_op": "noop"}
        ]
    });
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "running").await;
    let logs = m.dir.path().join("data/logs").join(&ex_id);
    let worker_log = logs.join("worker-1.log");
    for _ in 0..100 {
        if worker_log.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = m
        .post(
            &format!("/v1/jobs/{job_id}/_settings?log_level=debug"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, serde_json::json!({"exId": ex_id, "level": "debug"}));
    // The processes run at `warn` (TERASLICE_LOG); each logs the change at `info` once at debug.
    let changed = |name: &str| {
        std::fs::read_to_string(logs.join(name)).is_ok_and(|t| t.contains("log level changed"))
    };
    let mut seen = (false, false);
    for _ in 0..100 {
        seen = (changed("ec.log"), changed("worker-1.log"));
        if seen == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        (true, true),
        "(controller, worker) changed their level"
    );
    let (status, body) = m
        .post(&format!("/jobs/{job_id}/_settings?log_level=loud"), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "log_level \"loud\"");
    let (status, _) = m.post(&format!("/jobs/{job_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK);
}
