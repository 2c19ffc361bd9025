//! Conformance check that job and execution documents keep Teraslice's field names and values,
//! so an existing Teraslice cluster's documents read back and ours read in Teraslice.
use serde_json::{json, Value};

use super::fixtures::unique_id;
use super::Store;
use crate::execution::{ExecutionRecord, JobRecord};

/// An execution document as Teraslice writes it to `<name>__ex`.
fn teraslice_ex_doc(ex_id: &str, job_id: &str) -> Value {
    json!({
        "ex_id": ex_id,
        "job_id": job_id,
        "_context": "ex",
        "_status": "failed",
        "_created": "2024-05-17T10:00:00.123Z",
        "_updated": "2024-05-17T10:05:30.456Z",
        "_has_errors": true,
        "_failureReason": "execution: x had 2 slice failure(s) during processing",
        "_slicer_stats": {"processed": 10, "failed": 2, "workers_joined": 2},
        "metadata": {"slicer_0": {"cursor": 42}},
        "teraslice_version": "v2.8.0",
        "slicer_hostname": "10.1.2.3",
        "slicer_port": 45680,
        "name": "example-data-generator-job",
        "lifecycle": "once",
        "active": true,
        "analytics": true,
        "assets": ["f2b4a5d1c0e3a2b1f2b4a5d1c0e3a2b1f2b4a5d1"],
        "autorecover": false,
        "max_retries": 3,
        "operations": [
            {"_op": "data_generator", "size": 5000},
            {"_op": "example", "type": "string", "_encoding": "json"}
        ],
        "apis": [],
        "probation_window": 300000,
        "slicers": 1,
        "workers": 2,
        "stateful": false,
        "labels": null,
        "env_vars": {},
        "log_level": "info",
        "some_plugin_key": {"kept": ["as", "given"]}
    })
}

/// A job document as Teraslice writes it to `<name>__jobs`.
fn teraslice_job_doc(job_id: &str) -> Value {
    json!({
        "job_id": job_id,
        "_context": "job",
        "_created": "2024-05-17T09:59:59.001Z",
        "_updated": "2024-05-17T10:00:00.002Z",
        "name": "example-data-generator-job",
        "lifecycle": "persistent",
        "workers": 3,
        "assets": ["standard"],
        "operations": [{"_op": "data_generator", "size": 5000}, {"_op": "noop"}],
        "active": true
    })
}

fn assert_contains(doc: &Value, expected: &Value, what: &str) {
    let (Some(doc), Some(expected)) = (doc.as_object(), expected.as_object()) else {
        panic!("{what}: not JSON objects");
    };
    for (key, want) in expected {
        assert_eq!(doc.get(key), Some(want), "{what}: field {key}");
    }
}

/// Teraslice's documents read back through the store with every field, under Teraslice's names.
pub async fn documents_keep_teraslice_fields(store: Store) {
    let job_id = unique_id("job");
    let job_doc = teraslice_job_doc(&job_id);
    let job: JobRecord =
        serde_json::from_value(job_doc.clone()).expect("a Teraslice job document parses");
    store.create_job(&job).await.expect("create_job");
    let stored = store.get_job(&job_id).await.expect("get_job");
    let stored = serde_json::to_value(&stored).expect("serialize job");
    assert_eq!(
        stored, job_doc,
        "a Teraslice job document round-trips exactly"
    );

    let ex_id = unique_id("ex");
    let ex_doc = teraslice_ex_doc(&ex_id, &job_id);
    let ex: ExecutionRecord =
        serde_json::from_value(ex_doc.clone()).expect("a Teraslice execution document parses");
    store.create_execution(&ex).await.expect("create_execution");
    let stored = store.get_execution(&ex_id).await.expect("get_execution");
    assert_eq!(stored, ex);
    let stored = serde_json::to_value(&stored).expect("serialize execution");
    assert_contains(&stored, &ex_doc, "execution document");
    for rust_name in [
        "status",
        "has_errors",
        "failure_reason",
        "created",
        "context",
        "job",
    ] {
        assert!(
            stored.get(rust_name).is_none(),
            "field {rust_name} must be stored under Teraslice's name"
        );
    }
}
