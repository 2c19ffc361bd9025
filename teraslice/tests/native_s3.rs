//! `teraslice run` with the `file` asset's S3 ops against the test S3 server (`cargo xtask s3
//! up`; needs `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_REGION`,
//! `S3_BUCKET`): the spec's example job D (data_generator → s3_exporter, csv + gzip), then
//! s3_reader → file_exporter reads every record back once.
mod common;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use common::native::{lines_below, run_in, text, write_config};
use serde_json::{json, Value};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the S3 server with `cargo xtask s3 up` and load `cargo xtask s3 env`")
    })
}

fn run(dir: &std::path::Path, name: &str, job: &Value) {
    let connector = format!(
        "terafoundation:\n  connectors:\n    s3:\n      default:\n        endpoint: \"{}\"\n        accessKeyId: \"{}\"\n        secretAccessKey: \"{}\"\n        region: \"{}\"\n        forcePathStyle: true\n        sslEnabled: false\n",
        env("S3_ENDPOINT"),
        env("S3_ACCESS_KEY_ID"),
        env("S3_SECRET_ACCESS_KEY"),
        env("S3_REGION"),
    );
    let config = write_config(dir, &connector);
    let job_path = dir.join(format!("{name}.json"));
    std::fs::write(&job_path, job.to_string()).expect("write the job file");
    let out = run_in(
        dir,
        &[
            "run".as_ref(),
            job_path.as_os_str(),
            "-c".as_ref(),
            config.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert!(
        out.status.success(),
        "{name} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn generated_records_go_to_s3_as_gzip_csv_and_come_back_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = format!("{}/native-{nanos}/generated", env("S3_BUCKET"));
    run(
        dir.path(),
        "gen-to-s3",
        &json!({
            "name": "gen-to-s3", "lifecycle": "once", "workers": 1,
            "assets": ["standard", "file"],
            "apis": [{"_name": "s3_sender_api", "path": path, "format": "csv", "compression": "gzip",
                      "include_header": true, "fields": ["uuid", "ip", "created"], "size": 1000}],
            "operations": [
                {"_op": "data_generator", "size": 5000},
                {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
            ]
        }),
    );
    let out = dir.path().join("out");
    run(
        dir.path(),
        "s3-to-file",
        &json!({
            "name": "s3-to-file", "lifecycle": "once", "workers": 2,
            "assets": ["file"],
            "apis": [{"_name": "s3_reader_api", "path": path, "format": "csv", "compression": "gzip",
                      "file_per_slice": true, "fields": ["uuid", "ip", "created"]}],
            "operations": [
                {"_op": "s3_reader", "_api_name": "s3_reader_api"},
                {"_op": "file_exporter", "path": out, "format": "ldjson"}
            ]
        }),
    );
    let records: Vec<Value> = lines_below(&out)
        .iter()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let uuids: BTreeSet<&str> = records.iter().filter_map(|r| r["uuid"].as_str()).collect();
    assert_eq!(records.len(), 5000, "records read back");
    assert_eq!(uuids.len(), 5000, "every record exactly once");
    assert!(
        records
            .iter()
            .all(|r| r.as_object().map(|m| m.len()) == Some(3)),
        "the csv columns and nothing else (the header row dropped)"
    );
}

/// A worker whose exporter cannot reach its S3 endpoint fails at start; `teraslice run` ends
/// at once (nobody restarts a native worker) with the worker's own error in the reason.
#[test]
fn an_unreachable_endpoint_fails_the_run_with_the_workers_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let connector = "terafoundation:\n  connectors:\n    s3:\n      default:\n        endpoint: \"http://127.0.0.1:1\"\n        accessKeyId: \"k\"\n        secretAccessKey: \"s\"\n        region: \"us-east-1\"\n        forcePathStyle: true\n        sslEnabled: false\n        maxRetries: 0\n";
    let config = write_config(dir.path(), connector);
    let job_path = dir.path().join("job.json");
    let job = json!({
        "name": "to-nowhere", "lifecycle": "once", "workers": 1,
        "assets": ["standard", "file"],
        "apis": [{"_name": "s3_sender_api", "path": "nowhere/out", "format": "ldjson"}],
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
        ]
    });
    std::fs::write(&job_path, job.to_string()).expect("write the job file");
    let out = run_in(
        dir.path(),
        &[
            "run".as_ref(),
            job_path.as_os_str(),
            "-c".as_ref(),
            config.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("Every worker failed to start (1 of 1)"),
        "{all}"
    );
    assert!(all.contains("127.0.0.1:1"), "{all}");
}
