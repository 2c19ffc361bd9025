//! The built-in readers and the exporter through a real execution controller and workers
//! (loopback, in-process): data_generator → file_exporter, then file_reader → file_exporter.
// The execution controller and worker harness of the runtime tests.
#[path = "../../../runtime/tests/common/mod.rs"]
mod common;
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::collections::BTreeSet;
use std::path::Path;

use common::{job, run_to_completion};
use serde_json::{json, Value};

/// Every line of every file in `dir`, parsed, and the file names.
fn read_dir_lines(dir: &Path) -> (Vec<Value>, BTreeSet<String>) {
    let mut lines = Vec::new();
    let mut names = BTreeSet::new();
    let entries = std::fs::read_dir(dir)
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    for e in entries {
        names.insert(e.file_name().to_string_lossy().into_owned());
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text.lines() {
            match serde_json::from_str(l) {
                Ok(v) => lines.push(v),
                Err(err) => panic!("a partial or mixed line in {:?}: {err}: {l}", e.path()),
            }
        }
    }
    (lines, names)
}

async fn run(job_json: Value, workers: usize) {
    run_to_completion(job(job_json), ops_support::ops(), workers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_records_are_exported_once_then_read_back_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let generated = dir.path().join("generated");
    // Slice size from the api the exporter names (6 slices of 500).
    run(
        json!({
            "workers": 3,
            "apis": [{"_name": "file_sender_api", "path": generated, "file_per_slice": false, "size": 500}],
            "operations": [
                {"_op": "data_generator", "size": 3000},
                {"_op": "file_exporter", "_api_name": "file_sender_api"}
            ]
        }),
        3,
    )
    .await;
    let (lines, names) = read_dir_lines(&generated);
    assert_eq!(lines.len(), 3000);
    let uuids: BTreeSet<&str> = lines.iter().filter_map(|l| l["uuid"].as_str()).collect();
    assert_eq!(uuids.len(), 3000, "every record written once");
    assert!(
        names.iter().all(|n| n.starts_with("worker-")),
        "one file per worker: {names:?}"
    );

    let copied = dir.path().join("copied");
    run(
        json!({
            "workers": 2,
            "operations": [
                {"_op": "file_reader", "path": generated, "file_per_slice": false, "size": 20_000},
                {"_op": "file_exporter", "path": copied, "file_per_slice": true}
            ]
        }),
        2,
    )
    .await;
    let (again, names) = read_dir_lines(&copied);
    assert!(names.len() > 5, "one file per slice: {names:?}");
    let mut a: Vec<String> = lines.iter().map(Value::to_string).collect();
    let mut b: Vec<String> = again.iter().map(Value::to_string).collect();
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "file_reader read every line exactly once across slices and workers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gzip_and_lz4_files_are_written_and_read_back_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    for compression in ["gzip", "lz4"] {
        let packed = dir.path().join(format!("packed-{compression}"));
        run(
            json!({
                "workers": 2,
                "apis": [{"_name": "file_sender_api", "path": packed, "compression": compression, "size": 200}],
                "operations": [
                    {"_op": "data_generator", "size": 1000},
                    {"_op": "file_exporter", "_api_name": "file_sender_api"}
                ]
            }),
            2,
        )
        .await;
        let first = std::fs::read_dir(&packed)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| std::fs::read(e.path()).unwrap_or_default())
            .unwrap_or_default();
        let magic: &[u8] = if compression == "gzip" {
            &[0x1f, 0x8b]
        } else {
            &[0x04, 0x22, 0x4d, 0x18]
        };
        assert!(
            first.starts_with(magic),
            "{compression} file starts {:?}",
            &first[..first.len().min(4)]
        );
        let copied = dir.path().join(format!("copied-{compression}"));
        run(
            json!({
                "workers": 2,
                "operations": [
                    {"_op": "file_reader", "path": packed, "compression": compression},
                    {"_op": "file_exporter", "path": copied}
                ]
            }),
            2,
        )
        .await;
        let (lines, _) = read_dir_lines(&copied);
        let uuids: BTreeSet<&str> = lines.iter().filter_map(|l| l["uuid"].as_str()).collect();
        assert_eq!(
            (lines.len(), uuids.len()),
            (1000, 1000),
            "{compression}: every record once"
        );
    }
}
