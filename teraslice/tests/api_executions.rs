//! Execution control through `/ex/:id/…` and `/jobs/:id/…`: stop, pause, resume, workers,
//! recover, controller stats and error slices.
mod api_support;

use api_support::{assert_error, job, TestMaster};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use teraslice_core::store::{SliceState, SliceStateRecord};
use teraslice_core::StateStore;

#[tokio::test]
async fn stop_blocks_until_stopped_and_is_idempotent() {
    let m = TestMaster::start("").await;
    let (_, ex_id) = m.running_job("stop me").await;
    let (status, body) = m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"status": "stopped"}));
    let (status, again) = m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "stopped");
}

#[tokio::test]
async fn non_blocking_stop_answers_at_once_and_force_means_true_only() {
    let m = TestMaster::start("").await;
    let (_, ex_id) = m.running_job("nb").await;
    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_stop?blocking=false"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        ["stopping", "stopped"].contains(&body["status"].as_str().unwrap()),
        "{body}"
    );
    m.wait_status(&ex_id, "stopped").await;

    let (_, ex_id) = m.running_job("forced").await;
    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_stop?force=maybe"), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "force");
    assert_eq!(
        m.status_of(&ex_id).await,
        "running",
        "a refused stop changes nothing"
    );
    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_stop?force=false"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("message").is_none(),
        "force=false is a graceful stop: {body}"
    );

    let (_, ex_id) = m.running_job("forced2").await;
    let (status, body) = m.post(&format!("/ex/{ex_id}/_stop?force=true"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["message"],
        format!("Force stop complete for exId {ex_id}")
    );
    assert_eq!(body["status"], "stopped");
    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_stop?timeout=soon"), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "timeout");
}

#[tokio::test]
async fn pause_and_resume_through_job_and_execution_routes() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("pausable").await;
    let (status, body) = m.post(&format!("/jobs/{job_id}/_resume"), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "paused");
    let (status, body) = m.post(&format!("/jobs/{job_id}/_pause"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "paused"}))
    );
    assert_eq!(m.status_of(&ex_id).await, "paused");
    let (status, body) = m.post(&format!("/ex/{ex_id}/_resume"), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"status": "running"}))
    );
    m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    let (status, body) = m.post(&format!("/ex/{ex_id}/_pause"), None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "no active execution");
    let (status, body) = m.post("/ex/unknown/_pause", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown");
}

#[tokio::test]
async fn workers_are_added_removed_and_set() {
    let m = TestMaster::start("").await;
    let mut spec = job("scaled");
    spec["workers"] = json!(2);
    let (job_id, ex_id) = m.submit(&spec).await;
    m.wait_status(&ex_id, "running").await;
    let (status, body) = m.post(&format!("/ex/{ex_id}/_workers?add=3"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["message"],
        format!("3 workers have been add for execution: {ex_id}")
    );
    let (status, body) = m
        .post(&format!("/jobs/{job_id}/_workers?remove=1"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["message"],
        format!("1 workers have been remove for execution: {ex_id}")
    );
    let (status, body) = m.post(&format!("/ex/{ex_id}/_workers?total=2"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["message"],
        format!("2 workers have been set for execution: {ex_id}")
    );
    let (_, state) = m.get("/cluster/state").await;
    let workers = state
        .as_object()
        .unwrap()
        .values()
        .flat_map(|n| n["active"].as_array().unwrap().clone())
        .filter(|p| p["ex_id"] == ex_id && p["assignment"] == "worker")
        .count();
    assert_eq!(workers, 2);

    let (status, body) = m
        .post(&format!("/ex/{ex_id}/_workers?remove=2"), None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "at least one must remain",
    );
    for q in ["", "?add=x", "?add=-1", "?add=1&remove=1"] {
        let (status, body) = m.post(&format!("/ex/{ex_id}/_workers{q}"), None).await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "Must provide a valid worker parameter",
        );
    }
    let (status, body) = m.post("/ex/unknown/_workers?add=1", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown");
}

#[tokio::test]
async fn recover_refuses_while_running_then_links_the_new_execution() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("recoverable").await;
    let (status, body) = m.post(&format!("/jobs/{job_id}/_recover"), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "is currently running");
    let (status, body) = m.post(&format!("/ex/{ex_id}/_recover"), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "is currently running");
    m.post(&format!("/ex/{ex_id}/_stop"), None).await;

    let (status, body) = m
        .post(
            &format!("/jobs/{job_id}/_recover?cleanup_type=sometimes"),
            None,
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "all, errors, pending",
    );
    let (status, body) = m
        .post(
            &format!("/jobs/{job_id}/_recover?cleanup_type=errors"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_ex = body["ex_id"].as_str().unwrap().to_string();
    assert_ne!(new_ex, ex_id);
    let (_, rec) = m.get(&format!("/ex/{new_ex}")).await;
    assert_eq!(rec["recovered_execution"], ex_id);
    assert_eq!(rec["recovered_slice_type"], "errors");
    m.wait_status(&new_ex, "running").await;
    m.post(&format!("/ex/{new_ex}/_stop"), None).await;

    let (status, body) = m
        .post(&format!("/ex/{new_ex}/_recover?cleanup=all"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["job_id"], job_id);

    let (status, body) = m.post("/jobs?start=false", Some(&job("never ran"))).await;
    assert_eq!(status, StatusCode::OK);
    let idle = body["job_id"].as_str().unwrap();
    let (status, body) = m.post(&format!("/jobs/{idle}/_recover"), None).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "missing an execution to recover from",
    );
    let (status, body) = m.post("/ex/unknown/_recover", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown");
}

#[tokio::test]
async fn controller_stats_of_running_executions() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("observed").await;
    for path in [
        format!("/ex/{ex_id}/_controller"),
        format!("/jobs/{job_id}/controller"),
    ] {
        let (status, body) = m.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body[0]["ex_id"], ex_id);
        assert_eq!(body[0]["name"], "observed");
        assert!(body[0].get("workers_available").is_some(), "{body}");
    }
    let (_, all) = m.get("/controllers").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (_, all) = m.get("/cluster/controllers").await;
    assert_eq!(all[0]["job_id"], job_id);
    m.post(&format!("/ex/{ex_id}/_stop"), None).await;
    let (status, body) = m.get(&format!("/ex/{ex_id}/_controller")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Could not find active slicer for ex_id",
    );
    let (_, all) = m.get("/controllers").await;
    assert_eq!(all, json!([]));
}

#[tokio::test]
async fn errors_list_the_slices_in_error() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("failing slices").await;
    let store = teraslice_storage::SqliteStore::open(m.dir.path().join("data/teraslice.sqlite"))
        .expect("open the master's SQLite file");
    let slice = |id: &str, state: SliceState| SliceStateRecord {
        slice_id: id.into(),
        slicer_id: 0,
        slicer_order: 1,
        request: "{}".into(),
        state,
        ex_id: ex_id.clone(),
        created: Utc::now(),
        updated: Utc::now(),
        error: (state == SliceState::Error).then(|| "boom".to_string()),
        retry_count: None,
    };
    store
        .write_slice_states(&[
            slice("s1", SliceState::Error),
            slice("s2", SliceState::Completed),
            slice("s3", SliceState::Error),
        ])
        .await
        .expect("write slice states");
    for path in [
        format!("/ex/{ex_id}/errors"),
        format!("/jobs/{job_id}/errors"),
        "/ex/errors".to_string(),
    ] {
        let (status, body) = m.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let ids: Vec<_> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["slice_id"].clone())
            .collect();
        assert_eq!(ids, vec![json!("s1"), json!("s3")], "{path}");
        assert_eq!(body[0]["error"], "boom");
    }
    let (_, paged) = m.get(&format!("/ex/{ex_id}/errors?size=1&from=1")).await;
    assert_eq!(paged[0]["slice_id"], "s3");
    let (status, body) = m.get("/ex/unknown/errors").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown");
}

#[tokio::test]
async fn execution_listing_filters_by_status() {
    let m = TestMaster::start("").await;
    let (_, running) = m.running_job("one").await;
    let (_, stopped) = m.running_job("two").await;
    m.post(&format!("/ex/{stopped}/_stop"), None).await;
    let (_, list) = m.get("/ex?status=running").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["ex_id"], running);
    let (_, list) = m.get("/v1/ex?status=running,stopped").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, body) = m.get("/ex?status=sleeping").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "sleeping");
    let (status, body) = m.get("/ex/unknown").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "unknown");
}
