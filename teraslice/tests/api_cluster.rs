//! `/`, `/cluster/*`, the `/txt` tables and `/openapi.json`.
mod api_support;

use api_support::{assert_error, job, TestMaster};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn root_names_the_cluster_and_backend() {
    let m = TestMaster::start("").await;
    for path in ["/", "/v1"] {
        let (status, info) = m.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(info["name"], "apitest");
        assert_eq!(info["clustering_type"], "mock");
        assert!(info["teraslice_version"].as_str().unwrap().starts_with('v'));
        for key in ["arch", "platform", "node_version"] {
            assert!(info.get(key).is_some(), "{key} in {info}");
        }
    }
}

#[tokio::test]
async fn cluster_state_shows_each_execution_process() {
    let m = TestMaster::start("").await;
    let (_, state) = m.get("/cluster/state").await;
    assert_eq!(
        state.as_object().unwrap().len(),
        4,
        "four mock nodes: {state}"
    );
    let (job_id, ex_id) = m.running_job("visible").await;
    let (_, state) = m.get("/v1/cluster/state").await;
    let procs: Vec<_> = state
        .as_object()
        .unwrap()
        .values()
        .flat_map(|n| n["active"].as_array().unwrap().clone())
        .filter(|p| p["ex_id"] == ex_id)
        .collect();
    let roles: Vec<_> = procs
        .iter()
        .map(|p| p["assignment"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"execution_controller"), "{procs:?}");
    assert!(roles.contains(&"worker"), "{procs:?}");
    assert!(procs.iter().all(|p| p["job_id"] == job_id));
}

#[tokio::test]
async fn cluster_stats_has_teraslice_counters() {
    let m = TestMaster::start("").await;
    let (status, stats) = m.get("/cluster/stats").await;
    assert_eq!(status, StatusCode::OK);
    for section in ["controllers", "slicer"] {
        for key in [
            "processed",
            "failed",
            "queued",
            "job_duration",
            "workers_joined",
        ] {
            assert!(
                stats[section].get(key).is_some(),
                "{section}.{key} in {stats}"
            );
        }
    }
}

#[tokio::test]
async fn txt_tables_list_jobs_executions_workers_nodes_and_controllers() {
    let m = TestMaster::start("").await;
    let (job_id, ex_id) = m.running_job("tabled").await;

    let (status, jobs) = m.text("/txt/jobs").await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = jobs.lines().collect();
    assert!(lines[0].starts_with("job_id"), "{jobs}");
    assert!(
        lines[0].contains("  name  "),
        "columns two spaces apart: {jobs}"
    );
    assert!(lines[1].starts_with("---"), "{jobs}");
    assert!(
        lines[2].starts_with(&job_id) && lines[2].contains("tabled"),
        "{jobs}"
    );

    let (_, ex) = m.text("/txt/ex?fields=ex_id,_status&headers=false").await;
    assert_eq!(ex.trim(), format!("{ex_id}  running"));

    let (_, workers) = m.text("/txt/workers").await;
    assert!(
        workers.lines().next().unwrap().starts_with("assignment"),
        "{workers}"
    );
    assert!(
        workers.contains("execution_controller") && workers.contains("worker"),
        "{workers}"
    );
    assert!(
        workers.contains("N/A"),
        "mock processes have no pid: {workers}"
    );

    let (_, nodes) = m.text("/txt/nodes?size=2").await;
    assert_eq!(
        nodes.lines().count(),
        2 + 2,
        "header, dashes and two nodes: {nodes}"
    );
    assert!(
        nodes.contains("mock-node-0") && nodes.contains("connected"),
        "{nodes}"
    );

    let (_, controllers) = m.text("/txt/controllers").await;
    assert!(
        controllers.contains("tabled") && controllers.contains(&job_id),
        "{controllers}"
    );
    let (_, slicers) = m.text("/txt/slicers").await;
    assert_eq!(slicers, controllers);

    let (status, body) = m.get("/txt/jobs?headers=maybe").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "headers");
}

#[tokio::test]
async fn txt_jobs_with_deleted_adds_the_deletion_date() {
    let m = TestMaster::start("").await;
    let (status, body) = m.post("/jobs?start=false", Some(&job("gone"))).await;
    assert_eq!(status, StatusCode::OK);
    let job_id = body["job_id"].as_str().unwrap();
    m.call(reqwest::Method::DELETE, &format!("/jobs/{job_id}"), None)
        .await;
    let (_, live) = m.text("/txt/jobs").await;
    assert!(!live.contains(job_id), "{live}");
    let (_, deleted) = m.text("/txt/jobs?deleted=true").await;
    assert!(
        deleted.lines().next().unwrap().ends_with("_deleted_on"),
        "{deleted}"
    );
    assert!(deleted.contains(job_id), "{deleted}");
}

#[tokio::test]
async fn openapi_document_is_served() {
    let m = TestMaster::start("").await;
    let (status, doc) = m.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(
        doc["paths"]["/jobs"]["post"].is_object(),
        "POST /jobs documented"
    );
    assert_eq!(
        doc["components"]["schemas"]["Error"]["required"],
        json!(["error", "message"])
    );
    // Bearer tokens are documented; the health check needs none.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["paths"]["/"]["get"]["security"], json!([{}]));
    assert!(doc["paths"]["/jobs"]["post"]["responses"]["401"].is_object());
    assert!(doc["paths"]["/jobs"]["post"]["responses"]["403"].is_object());
}
