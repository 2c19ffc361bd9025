//! What this store leaves on the server, read with plain HTTP: documents under Teraslice's
//! index names and field names (teraslice-master.md §5), and each index's mapping types.
mod opensearch_support;

use chrono::{Datelike, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use teraslice_core::execution::{JobRecord, StatusUpdate};
use teraslice_core::status::ExecutionStatus;
use teraslice_core::store::{SliceState, StateStore};
use teraslice_core::testing::store::fixtures::{analytics, at, execution, slice};

use opensearch_support::{cluster_name, open, raw, Cleanup};

async fn source(index: &str, id: &str) -> Value {
    let (status, body) = raw(Method::GET, &format!("{index}/_doc/{id}"), None).await;
    assert_eq!(status, 200, "GET {index}/_doc/{id}: {body}");
    body["_source"].clone()
}

fn assert_no_rust_names(doc: &Value, what: &str) {
    for name in [
        "context",
        "created",
        "updated",
        "status",
        "spec",
        "job",
        "has_errors",
    ] {
        assert!(
            doc.get(name).is_none(),
            "{what}: Rust field name {name} leaked: {doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_execution_and_slice_documents_use_teraslice_fields() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let store = open(&name).await;

    let spec = json!({"name": "gen", "lifecycle": "once", "workers": 3,
        "operations": [{"_op": "data_generator", "size": 10}, {"_op": "noop"}], "apis": []});
    let Value::Object(spec) = spec else {
        unreachable!()
    };
    let job = JobRecord::new("job-a".into(), spec.clone());
    store.create_job(&job).await.expect("create_job");
    let doc = source(&format!("{name}__jobs"), "job-a").await;
    assert_eq!(doc["job_id"], "job-a");
    assert_eq!(doc["_context"], "job");
    let created = doc["_created"].as_str().expect("_created is an ISO string");
    assert_eq!(
        created.parse::<chrono::DateTime<Utc>>().ok(),
        Some(job.created)
    );
    assert!(
        created.ends_with('Z'),
        "UTC ISO-8601 like Teraslice: {created}"
    );
    assert!(doc["_updated"].is_string());
    for (key, value) in &spec {
        assert_eq!(&doc[key], value, "job spec field {key} is stored verbatim");
    }
    assert_no_rust_names(&doc, "job");

    let mut ex = execution("job-a", ExecutionStatus::Running, at(0));
    ex.ex_id = "ex-a".into();
    store.create_execution(&ex).await.expect("create_execution");
    let update = StatusUpdate {
        failure_reason: Some("slicer failed".into()),
        slicer_hostname: Some("10.0.0.7".into()),
        slicer_port: Some(45680),
        ..Default::default()
    };
    store
        .set_execution_status("ex-a", ExecutionStatus::Failed, &update)
        .await
        .expect("running -> failed");
    let doc = source(&format!("{name}__ex"), "ex-a").await;
    assert_eq!(doc["ex_id"], "ex-a");
    assert_eq!(doc["job_id"], "job-a");
    assert_eq!(doc["_context"], "ex");
    assert_eq!(doc["_status"], "failed");
    assert_eq!(doc["_has_errors"], true);
    assert_eq!(doc["_failureReason"], "slicer failed");
    assert_eq!(doc["_slicer_stats"], json!({}));
    assert_eq!(doc["metadata"], json!({}));
    assert_eq!(doc["slicer_hostname"], "10.0.0.7");
    assert_eq!(doc["slicer_port"], 45680);
    assert_eq!(doc["_created"], "2024-05-17T10:00:00.123Z");
    assert!(doc["teraslice_version"]
        .as_str()
        .is_some_and(|v| v.starts_with('v')));
    // The validated job's fields sit at the top level, as in Teraslice.
    assert_eq!(doc["lifecycle"], "persistent");
    assert_eq!(doc["workers"], 2);
    assert_eq!(doc["operations"][0]["_op"], "data_generator");
    assert_no_rust_names(&doc, "execution");

    let mut rec = slice("ex-a", 7, SliceState::Pending);
    store
        .write_slice_states(&[rec.clone()])
        .await
        .expect("write pending");
    rec.state = SliceState::Error;
    rec.error = Some("Error: boom\n    at op (x.js:1:1)".into());
    rec.retry_count = Some(2);
    rec.updated = at(60);
    store
        .write_slice_states(&[rec.clone()])
        .await
        .expect("write error");
    // Index chosen by the record's _created (2024-05-17, monthly rollover).
    let doc = source(&format!("{name}__state-2024.05"), &rec.slice_id).await;
    assert_eq!(doc["slice_id"], rec.slice_id.as_str());
    assert_eq!(doc["slicer_id"], 1);
    assert_eq!(doc["slicer_order"], 7);
    assert_eq!(doc["state"], "error");
    assert_eq!(doc["ex_id"], "ex-a");
    assert_eq!(doc["_created"], "2024-05-17T10:00:07.123Z");
    assert_eq!(doc["_updated"], "2024-05-17T10:01:00.123Z");
    assert_eq!(doc["error"], "Error: boom\n    at op (x.js:1:1)");
    assert_eq!(doc["retry_count"], 2);
    let request = doc["request"].as_str().expect("request is a JSON string");
    assert_eq!(
        serde_json::from_str::<Value>(request).ok(),
        Some(json!({"start": 70, "end": 80, "key": "ä"}))
    );

    store
        .write_analytics(&[analytics("ex-a", "job-a", &rec.slice_id, 1)])
        .await
        .expect("write analytics");
    let now = Utc::now();
    let index = format!("{name}__analytics-{}.{:02}", now.year(), now.month());
    raw(Method::POST, &format!("{index}/_refresh"), None).await;
    let (status, found) = raw(Method::GET, &format!("{index}/_search"), None).await;
    assert_eq!(status, 200, "{index}: {found}");
    let doc = &found["hits"]["hits"][0]["_source"];
    for key in [
        "@timestamp",
        "ex_id",
        "job_id",
        "worker_id",
        "slice_id",
        "slicer_id",
        "op",
        "order",
        "count",
        "time",
        "memory",
        "state",
    ] {
        assert!(doc.get(key).is_some(), "analytics field {key}: {doc}");
    }
    assert_eq!(doc["worker_id"], "host-1__3");
    // Its id was chosen by the store (32 hex digits) before the first try, not by the server.
    let id = found["hits"]["hits"][0]["_id"].as_str().unwrap_or_default();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "analytics id {id:?}"
    );
}

/// §5's mapped field types, written out here independently of the store's own table.
fn expected_types(index: &str) -> Vec<(&'static str, &'static str)> {
    let job: Vec<(&str, &str)> = vec![
        ("job_id", "keyword"),
        ("_context", "keyword"),
        ("lifecycle", "keyword"),
        ("log_level", "keyword"),
        ("assets", "keyword"),
        ("kubernetes_image", "keyword"),
        ("_created", "date"),
        ("_updated", "date"),
        ("_deleted_on", "date"),
        ("_deleted", "boolean"),
        ("active", "boolean"),
        ("analytics", "boolean"),
        ("autorecover", "boolean"),
        ("stateful", "boolean"),
        ("ephemeral_storage", "boolean"),
        ("prom_metrics_enabled", "boolean"),
        ("prom_metrics_add_default", "boolean"),
        ("name", "text"),
        ("max_retries", "integer"),
        ("probation_window", "integer"),
        ("slicers", "integer"),
        ("workers", "integer"),
        ("prom_metrics_port", "integer"),
        ("cpu", "float"),
        ("cpu_execution_controller", "float"),
        ("resources_requests_cpu", "float"),
        ("resources_limits_cpu", "float"),
        ("memory", "long"),
        ("memory_execution_controller", "long"),
        ("resources_requests_memory", "long"),
        ("resources_limits_memory", "long"),
    ];
    match index {
        "jobs" => job,
        "ex" => {
            let mut ex = job;
            ex.extend([
                ("ex_id", "keyword"),
                ("_status", "keyword"),
                ("recovered_execution", "keyword"),
                ("recovered_slice_type", "keyword"),
                ("slicer_hostname", "keyword"),
                ("teraslice_version", "keyword"),
                ("_has_errors", "boolean"),
                ("relocatable", "boolean"),
                ("_failureReason", "text"),
                ("slicer_port", "integer"),
            ]);
            ex
        }
        "state" => vec![
            ("ex_id", "keyword"),
            ("slice_id", "keyword"),
            ("slicer_id", "keyword"),
            ("state", "keyword"),
            ("error", "keyword"),
            ("slicer_order", "integer"),
            ("_created", "date"),
            ("_updated", "date"),
        ],
        "analytics" => vec![
            ("ex_id", "keyword"),
            ("job_id", "keyword"),
            ("worker_id", "keyword"),
            ("slice_id", "keyword"),
            ("slicer_id", "keyword"),
            ("op", "keyword"),
            ("state", "keyword"),
            ("order", "integer"),
            ("count", "integer"),
            ("time", "integer"),
            ("memory", "long"),
            ("@timestamp", "date"),
        ],
        _ => vec![
            ("name", "keyword"),
            ("version", "keyword"),
            ("id", "keyword"),
            ("description", "keyword"),
            ("arch", "keyword"),
            ("platform", "keyword"),
            ("node_version", "integer"),
            ("blob", "binary"),
            ("_created", "date"),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_index_has_teraslices_mapping() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let store = open(&name).await;
    // The dated indices appear with their first write.
    store
        .write_slice_states(&[slice("ex-m", 1, SliceState::Pending)])
        .await
        .expect("write slice");
    store
        .write_analytics(&[analytics("ex-m", "job-m", "s-1", 0)])
        .await
        .expect("write analytics");
    let now = Utc::now();
    let indices = [
        ("jobs", format!("{name}__jobs")),
        ("ex", format!("{name}__ex")),
        ("state", format!("{name}__state-2024.05")),
        (
            "analytics",
            format!("{name}__analytics-{}.{:02}", now.year(), now.month()),
        ),
        ("assets", format!("{name}__assets")),
    ];
    for (kind, index) in indices {
        let (status, body) = raw(Method::GET, &format!("{index}/_mapping"), None).await;
        assert_eq!(status, 200, "{index}: {body}");
        let mapping = &body[&index]["mappings"];
        assert!(
            mapping["dynamic"] == json!("false") || mapping["dynamic"] == json!(false),
            "{index}: dynamic must be false: {mapping}"
        );
        for (field, kind) in expected_types(kind) {
            assert_eq!(
                mapping["properties"][field]["type"], kind,
                "{index}: field {field}"
            );
        }
        if kind == "ex" {
            assert_eq!(
                mapping["properties"]["metadata"]["enabled"], false,
                "{index}"
            );
        }
        if kind == "assets" {
            // false is binary's default, so the server may leave it out of the answer.
            let doc_values = &mapping["properties"]["blob"]["doc_values"];
            assert!(
                doc_values.is_null() || *doc_values == json!(false),
                "{index}"
            );
        }
    }
    for kind in ["state", "analytics"] {
        let template = format!("{name}_{kind}_template");
        let (status, body) = raw(Method::GET, &format!("_template/{template}"), None).await;
        assert_eq!(status, 200, "{template}: {body}");
        assert_eq!(
            body[&template]["index_patterns"],
            json!([format!("{name}__{kind}*")])
        );
    }
    // Opening again finds everything in place: already-exists is fine.
    drop(open(&name).await);
}
