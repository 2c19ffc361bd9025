//! Job validation of `s3_reader` / `s3_exporter` and their APIs (no S3 server needed).
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use ops_support::{errors, validate};
use serde_json::{json, Value};

fn sender_job(api: Value) -> Value {
    json!({
        "name": "s3", "assets": ["file", "standard"],
        "apis": [api],
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
        ]
    })
}

fn reader_job(api: Value) -> Value {
    json!({
        "name": "s3", "assets": ["file"],
        "apis": [api],
        "operations": [
            {"_op": "s3_reader", "_api_name": "s3_reader_api"},
            {"_op": "noop"}
        ]
    })
}

fn messages(job: Value) -> Vec<String> {
    errors(job).iter().map(ToString::to_string).collect()
}

#[test]
fn s3_apis_get_teraslice_defaults() {
    let job = validate(reader_job(json!({"_name": "s3_reader_api", "path": "b/p"})))
        .unwrap_or_else(|e| panic!("valid job: {e:?}"));
    let api = job
        .api("s3_reader_api")
        .map(|a| a.0.clone())
        .unwrap_or_default();
    assert_eq!(
        api["file_per_slice"],
        json!(false),
        "s3_reader cuts objects by default"
    );
    assert_eq!(api["size"], json!(10_000_000));
    assert_eq!(api["compression"], json!("none"));
    let job = validate(sender_job(json!({"_name": "s3_sender_api", "path": "b/p"})))
        .unwrap_or_else(|e| panic!("valid job: {e:?}"));
    let api = job
        .api("s3_sender_api")
        .map(|a| a.0.clone())
        .unwrap_or_default();
    assert_eq!(api["file_per_slice"], json!(true));
}

#[test]
fn invalid_s3_settings_are_named() {
    let cases = [
        (
            sender_job(json!({"_name": "s3_sender_api", "path": "b", "file_per_slice": false})),
            "file_per_slice: must be set to true, cannot append data to S3 objects",
        ),
        (
            reader_job(json!({"_name": "s3_reader_api", "path": "b", "compression": "gzip"})),
            "file_per_slice: must be set to true if compression is set to anything other than \"none\"",
        ),
        (
            reader_job(json!({"_name": "s3_reader_api", "path": "/"})),
            "path \"/\" names no bucket",
        ),
        (
            reader_job(json!({"_name": "s3_reader_api", "path": "b", "_connection": 3})),
            "_connection: must name an s3 connector",
        ),
        (
            reader_job(json!({"_name": "s3_reader_api", "path": "b", "compression": "zip"})),
            "compression: must be one of none, gzip, lz4",
        ),
    ];
    for (job, expected) in cases {
        let got = messages(job.clone());
        assert!(got.iter().any(|m| m.contains(expected)), "{job}: {got:?}");
    }
}

#[test]
fn legacy_s3_ops_carry_their_settings() {
    // file 3.x: settings on the op itself.
    let job = json!({
        "name": "legacy", "assets": ["file", "standard"],
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "s3_exporter", "path": "/app/data/test_files", "format": "ldjson"}
        ]
    });
    assert!(validate(job).is_ok());
    let bad = json!({
        "name": "legacy", "assets": ["file"],
        "operations": [
            {"_op": "s3_reader", "format": "ldjson"},
            {"_op": "noop"}
        ]
    });
    assert!(messages(bad).iter().any(|m| m.contains("path")));
}
