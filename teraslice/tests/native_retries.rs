//! Op errors on the native backend: a failing slice is attempted `max_retries + 1` times, then
//! recorded as `error`, and a `once` execution ends `failed`; a `persistent` one keeps going.
mod common;

use common::native::{ex_id_of, run_job, slices, store_in, text, wait_for, NativeMaster};
use serde_json::{json, Value};
use teraslice_core::store::SliceState;

/// file_exporter cannot write `<out>/<worker_id>/missing/x` (no such directory): every attempt
/// of every slice fails with an ordinary, retryable write error.
fn failing_export(lifecycle: &str, max_retries: u32) -> Value {
    json!({
        "name": "failing", "lifecycle": lifecycle, "workers": 1, "max_retries": max_retries,
        "operations": [
            {"_op": "data_generator", "size": 30},
            {"_op": "file_exporter", "path": "out", "file_per_slice": false,
             "extension": "/missing/x", "size": 10}
        ]
    })
}

#[tokio::test]
async fn a_slice_that_keeps_failing_is_tried_max_retries_plus_one_times_then_fails_the_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_job(dir.path(), &failing_export("once", 2));
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a failed execution exits non-zero");
    assert!(stderr.contains("ended failed"), "{stderr}");
    assert!(
        stderr.contains("slice failure"),
        "the reason counts the failures: {stderr}"
    );

    let ex_id = ex_id_of(&out);
    let states = slices(&store_in(dir.path()), &ex_id).await;
    assert_eq!(states.len(), 3, "30 records, 10 a slice: {states:?}");
    for s in &states {
        assert_eq!(s.state, SliceState::Error, "{s:?}");
        assert_eq!(
            s.retry_count,
            Some(2),
            "two retries after the first attempt: {s:?}"
        );
        let error = s.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("cannot write"),
            "the op's error is kept: {error}"
        );
    }
    // The worker logs each retry: 2 per slice, 3 attempts in all.
    let log = dir.path().join(format!("data/logs/{ex_id}/worker-1.log"));
    let log = std::fs::read_to_string(&log).expect("read the worker log");
    for s in &states {
        let retries = log
            .lines()
            .filter(|l| l.contains("slice attempt failed, retrying") && l.contains(&s.slice_id))
            .count();
        assert_eq!(retries, 2, "retries of slice {}", s.slice_id);
    }
}

#[tokio::test]
async fn a_persistent_job_keeps_processing_past_slice_errors_until_stopped() {
    let m = NativeMaster::start();
    let ex_id = m.submit(&failing_export("persistent", 0)).await;
    wait_for("three failed slices", || async {
        m.errors(&ex_id).await.len() >= 3
    })
    .await;
    let errors = m.errors(&ex_id).await;
    assert!(
        errors.iter().all(|e| e["state"] == "error"),
        "errors lists failed slices: {errors:?}"
    );
    let ex = m.execution(&ex_id).await;
    let status = ex["_status"].as_str().unwrap_or_default();
    // Teraslice's slice failure watchdog: `failing` (not a terminal status) while errors go on.
    assert_eq!(
        status, "failing",
        "still processing after slice errors: {ex}"
    );
    assert_eq!(ex["_has_errors"], true, "{ex}");

    m.post(&format!("/ex/{ex_id}/_stop")).await;
    m.wait_status(&ex_id, "stopped").await;
    wait_for("no process of the stopped execution", || async {
        m.processes(&ex_id).await.is_empty()
    })
    .await;
}
