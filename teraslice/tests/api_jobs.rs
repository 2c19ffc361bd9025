//! `/jobs`: submit, list, get, update, active flags, start, delete — and every error case.
mod api_support;

use api_support::{assert_error, job, TestMaster};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn submit_stores_the_spec_verbatim_and_starts_it() {
    let m = TestMaster::start("").await;
    let mut spec = job("verbatim");
    spec["custom_key"] = json!({"kept": true});
    let (job_id, ex_id) = m.submit(&spec).await;
    let (status, stored) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["job_id"], job_id);
    assert_eq!(stored["_context"], "job");
    assert_eq!(stored["custom_key"], json!({"kept": true}));
    // Defaults belong to the execution, not to the stored spec.
    assert!(stored.get("lifecycle").is_none(), "{stored}");
    m.wait_status(&ex_id, "running").await;
    let (_, ex) = m.get(&format!("/jobs/{job_id}/ex")).await;
    assert_eq!(ex["ex_id"], ex_id);
    assert_eq!(ex["lifecycle"], "once");
    // The same routes answer under /v1.
    let (status, v1) = m.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["job_id"], job_id);
}

#[tokio::test]
async fn start_false_stores_without_an_execution() {
    let m = TestMaster::start("").await;
    let (status, body) = m.post("/jobs?start=false", Some(&job("later"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("ex_id").is_none(), "{body}");
    let job_id = body["job_id"].as_str().unwrap().to_string();
    let (status, body) = m.get(&format!("/jobs/{job_id}/ex")).await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        &format!("No execution was found for job {job_id}"),
    );
    let (status, started) = m.post(&format!("/jobs/{job_id}/_start"), None).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    m.wait_status(started["ex_id"].as_str().unwrap(), "running")
        .await;
}

#[tokio::test]
async fn invalid_jobs_are_refused_with_every_problem_and_nothing_stored() {
    let m = TestMaster::start("").await;
    let bad = json!({
        "name": "bad",
        "workers": 0,
        "lifecycle": "sometimes",
        "operations": [{"_op": "no-such-reader"}, {"_op": "noop"}]
    });
    let (status, body) = m.post("/jobs", Some(&bad)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "workers");
    let msg = body["message"].as_str().unwrap();
    for field in ["lifecycle", "operations[0]"] {
        assert!(msg.contains(field), "{msg} should name {field}");
    }
    let (status, body) = m.post("/jobs", Some(&json!({"name": "no ops"}))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "operations");
    let (status, body) = m.post("/jobs", Some(&json!(["not", "a", "job"]))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "No job was posted");
    let mut with_id = job("with id");
    with_id["job_id"] = json!("mine");
    let (status, body) = m.post("/jobs", Some(&with_id)).await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "job_id");
    let (status, body) = m.raw(Method::POST, "/jobs", b"{\"name\": ".to_vec()).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "the json submitted is malformed",
    );
    let (_, jobs) = m.get("/jobs").await;
    assert_eq!(
        jobs,
        json!([]),
        "nothing is stored after refused submissions"
    );
}

#[tokio::test]
async fn oversize_bodies_get_413_and_nothing_is_stored() {
    let m = TestMaster::start("  api_payload_limit: 2kb\n").await;
    let mut spec = job("big");
    spec["padding"] = json!("x".repeat(4096));
    let body = serde_json::to_vec(&spec).unwrap();
    let (status, err) = m.raw(Method::POST, "/jobs", body).await;
    assert_error(status, &err, StatusCode::PAYLOAD_TOO_LARGE, "2048 bytes");
    let (_, jobs) = m.get("/jobs").await;
    assert_eq!(jobs, json!([]));
}

#[tokio::test]
async fn unknown_ids_are_404_and_unknown_routes_405() {
    let m = TestMaster::start("").await;
    for path in [
        "/jobs/nope",
        "/jobs/nope/ex",
        "/jobs/nope/errors",
        "/jobs/nope/controller",
    ] {
        let (status, body) = m.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("nope"),
            "{path}: {body}"
        );
    }
    for path in [
        "/jobs/nope/_start",
        "/jobs/nope/_stop",
        "/jobs/nope/_recover",
        "/jobs/nope/_active",
    ] {
        let (status, body) = m.post(path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, body) = m.get("/no/such/route").await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "cannot GET endpoint /no/such/route",
    );
    let (status, body) = m.call(Method::PATCH, "/jobs", None).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "cannot PATCH endpoint /jobs",
    );
    let (status, body) = m.get("/v1/txt/jobs").await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "/v1/txt/jobs",
    );
}

#[tokio::test]
async fn update_and_active_flags_keep_identity_and_validate() {
    let m = TestMaster::start("").await;
    let (status, body) = m.post("/jobs?start=false", Some(&job("v1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job_id = body["job_id"].as_str().unwrap().to_string();
    let (_, before) = m.get(&format!("/jobs/{job_id}")).await;

    let (status, updated) = m
        .call(Method::PUT, &format!("/jobs/{job_id}"), Some(&job("v2")))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "v2");
    assert_eq!(updated["job_id"], job_id);
    assert_eq!(updated["_created"], before["_created"]);

    let (status, body) = m
        .call(Method::PUT, &format!("/jobs/{job_id}"), Some(&json!({})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "no data was provided to update job",
    );
    let mut invalid = job("v3");
    invalid["workers"] = json!("many");
    let (status, body) = m
        .call(Method::PUT, &format!("/jobs/{job_id}"), Some(&invalid))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "workers");
    let (_, after) = m.get(&format!("/jobs/{job_id}")).await;
    assert_eq!(after["name"], "v2", "a refused update changes nothing");

    let (status, off) = m.post(&format!("/jobs/{job_id}/_inactive"), None).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], false);
    let (_, inactive) = m.get("/jobs?active=false").await;
    assert_eq!(inactive.as_array().unwrap().len(), 1);
    let (_, active) = m.get("/jobs?active=true").await;
    assert_eq!(active, json!([]));
    let (_, on) = m.post(&format!("/jobs/{job_id}/_active"), None).await;
    assert_eq!(on["active"], true);
}

#[tokio::test]
async fn a_running_job_cannot_be_started_again_or_deleted() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("busy").await;
    let (status, body) = m.post(&format!("/jobs/{job_id}/_start"), None).await;
    assert_error(status, &body, StatusCode::CONFLICT, "is currently running");
    assert!(body["message"].as_str().unwrap().contains(&ex_id), "{body}");
    let (status, body) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "cannot delete a running job",
    );

    let (status, stopped) = m.post(&format!("/jobs/{job_id}/_stop"), None).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    let (status, deleted) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["_deleted"], true);
    assert_eq!(deleted["active"], false);
    let (status, body) = m
        .call(Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    assert_error(status, &body, StatusCode::GONE, "already been deleted");
    let (status, body) = m.post(&format!("/jobs/{job_id}/_start"), None).await;
    assert_error(status, &body, StatusCode::GONE, "deleted");
    let (_, live) = m.get("/jobs").await;
    assert_eq!(live, json!([]), "deleted jobs are hidden by default");
    let (_, gone) = m.get("/jobs?deleted=true").await;
    assert_eq!(gone[0]["job_id"], job_id);
    let (_, live_ex) = m.get("/ex").await;
    assert_eq!(
        live_ex,
        json!([]),
        "a deleted job's executions are hidden too"
    );
    let (_, deleted_ex) = m.get("/ex?deleted=true").await;
    assert_eq!(deleted_ex[0]["ex_id"], ex_id);
    let (status, body) = m.get("/jobs?deleted=maybe").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "deleted");
}

#[tokio::test]
async fn listing_pages_sorts_filters_and_attaches_executions() {
    let m = TestMaster::start("").await;
    for name in ["alpha", "beta", "gamma"] {
        let (status, body) = m.post("/jobs?start=false", Some(&job(name))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (job_id, ex_id) = m.submit(&job("delta")).await;
    let (_, sorted) = m.get("/jobs?sort=name:asc&size=2&from=1").await;
    let names: Vec<_> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("beta"), json!("delta")]);
    let (_, filtered) = m.get("/jobs?filter=name:gam*").await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["name"], "gamma");
    let (_, one) = m.get(&format!("/jobs/{job_id}?ex=ex_id,_status")).await;
    assert_eq!(one["ex"]["ex_id"], ex_id);
    assert!(
        one["ex"].get("name").is_none(),
        "only the asked fields: {one}"
    );
    let (_, with_ex) = m.get("/jobs?ex=ex_id&filter=name:alpha").await;
    assert_eq!(
        with_ex[0]["ex"],
        json!({}),
        "a job never run gets an empty ex"
    );
    for (query, param) in [
        ("size=ten", "size"),
        ("from=-1", "from"),
        ("sort=name:up", "sort"),
        ("filter=a%20OR%20b", "filter"),
    ] {
        let (status, body) = m.get(&format!("/jobs?{query}")).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, param);
    }
}
