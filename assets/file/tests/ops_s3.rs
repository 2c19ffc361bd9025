//! `s3_exporter` and `s3_reader` against a real S3 server (`cargo xtask s3 up`; the tests read
//! `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_REGION`, `S3_BUCKET` and fail
//! without them), through a real execution controller and workers (loopback, in-process):
//! data_generator → s3_exporter → s3_reader → file_exporter in every format and compression,
//! and bad or unreachable connectors failing the job with the connector and setting named.
#[path = "../../../runtime/tests/common/mod.rs"]
mod common;
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use common::{job, run_to_completion, timeouts, Harness};
use serde_json::{json, Map, Value};
use teraslice_core::ExecutionStatus;
use teraslice_runtime::OpRegistry;

const RECORDS: usize = 600;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the S3 server with `cargo xtask s3 up` and load `cargo xtask s3 env`")
    })
}

/// `terafoundation.connectors` with the test server as `s3.default` (plus `extra` settings).
fn connectors(extra: Value) -> Map<String, Value> {
    let mut default = json!({
        "endpoint": env("S3_ENDPOINT"),
        "accessKeyId": env("S3_ACCESS_KEY_ID"),
        "secretAccessKey": env("S3_SECRET_ACCESS_KEY"),
        "region": env("S3_REGION"),
        "forcePathStyle": true,
        "sslEnabled": false,
    });
    if let (Some(d), Value::Object(e)) = (default.as_object_mut(), extra) {
        d.extend(e);
    }
    let all = json!({ "s3": { "default": default } });
    all.as_object().cloned().unwrap_or_default()
}

fn registry(connectors: Map<String, Value>) -> OpRegistry {
    let mut ops = ops_support::ops();
    teraslice_asset_file::register_s3_with_connectors(&mut ops, connectors);
    // routed_sender keeps the s3_exporter it was given: give it the connected one.
    teraslice_asset_standard::register_routed_sender(&mut ops);
    ops
}

/// A fresh key prefix in the test bucket.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}/{name}-{nanos}", env("S3_BUCKET"))
}

async fn run(job_json: Value, workers: usize) {
    run_to_completion(job(job_json), registry(connectors(json!({}))), workers).await;
}

/// Every ldjson line in every file under `dir`.
fn read_dir_lines(dir: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for e in std::fs::read_dir(dir)
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text.lines() {
            match serde_json::from_str(l) {
                Ok(v) => lines.push(v),
                Err(err) => panic!("a partial line in {:?}: {err}: {l}", e.path()),
            }
        }
    }
    lines
}

/// Asserts that `records` hold each of `RECORDS` distinct uuids exactly once.
fn assert_every_record_once(
    records: &[Value],
    uuid: impl Fn(&Value) -> Option<String>,
    what: &str,
) {
    let uuids: Vec<String> = records.iter().filter_map(uuid).collect();
    let distinct: BTreeSet<&String> = uuids.iter().collect();
    assert_eq!(records.len(), RECORDS, "{what}: records read back");
    assert_eq!(uuids.len(), RECORDS, "{what}: records with a uuid");
    assert_eq!(distinct.len(), RECORDS, "{what}: every record exactly once");
}

/// The reader settings for a format and compression: byte ranges (small, so objects are cut
/// and lines cross range ends) unless the objects must be read whole.
fn reader_api(path: &str, format: &str, compression: &str) -> Value {
    let whole = compression != "none" || format == "json";
    json!({"_name": "s3_reader_api", "path": path, "format": format, "compression": compression,
           "file_per_slice": whole, "size": 1500})
}

/// s3_reader (`format`, `compression`) → file_exporter ldjson; the lines written.
async fn read_back(path: &str, format: &str, compression: &str, fields: Value) -> Vec<Value> {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let mut api = reader_api(path, format, compression);
    api["fields"] = fields;
    run(
        json!({
            "workers": 2,
            "apis": [api],
            "operations": [
                {"_op": "s3_reader", "_api_name": "s3_reader_api"},
                {"_op": "file_exporter", "path": out.path(), "format": "ldjson"}
            ]
        }),
        2,
    )
    .await;
    read_dir_lines(out.path())
}

/// data_generator → s3_exporter (`format`, `compression`) under a fresh prefix.
async fn generate(format: &str, compression: &str) -> String {
    let path = unique(&format!("gen-{format}-{compression}"));
    run(
        json!({
            "workers": 2,
            "apis": [{"_name": "s3_sender_api", "path": path, "format": format,
                      "compression": compression, "include_header": true, "size": 100}],
            "operations": [
                {"_op": "data_generator", "size": RECORDS},
                {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
            ]
        }),
        2,
    )
    .await;
    path
}

fn uuid_of(v: &Value) -> Option<String> {
    v.get("uuid").and_then(Value::as_str).map(str::to_string)
}

async fn round_trip(format: &str) {
    for compression in ["none", "gzip", "lz4"] {
        let path = generate(format, compression).await;
        let lines = read_back(&path, format, compression, json!([])).await;
        assert_every_record_once(&lines, uuid_of, &format!("{format} + {compression}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ldjson_round_trips_every_record_once_in_every_compression() {
    round_trip("ldjson").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_round_trips_every_record_once_in_every_compression() {
    round_trip("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn csv_round_trips_every_record_once_in_every_compression() {
    round_trip("csv").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tsv_round_trips_every_record_once_in_every_compression() {
    round_trip("tsv").await;
}

/// raw needs `{"data": "<line>"}` records: read generated ldjson objects as raw lines, write
/// them raw in each compression, read those back raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_round_trips_every_record_once_in_every_compression() {
    let source = generate("ldjson", "none").await;
    for compression in ["none", "gzip", "lz4"] {
        let path = unique(&format!("raw-{compression}"));
        run(
            json!({
                "workers": 2,
                "apis": [reader_api(&source, "raw", "none"),
                         {"_name": "s3_sender_api", "path": path, "format": "raw", "compression": compression}],
                "operations": [
                    {"_op": "s3_reader", "_api_name": "s3_reader_api"},
                    {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
                ]
            }),
            2,
        )
        .await;
        let lines = read_back(&path, "raw", compression, json!([])).await;
        let inner = |v: &Value| {
            let line = v.get("data")?.as_str()?;
            uuid_of(&serde_json::from_str::<Value>(line).ok()?)
        };
        assert_every_record_once(&lines, inner, &format!("raw + {compression}"));
    }
}

/// Runs a job that must fail; its failure reason and the worker's error, if it failed.
async fn failure(job_json: Value, connectors: Map<String, Value>) -> String {
    let h = Harness::start(job(job_json), registry(connectors), timeouts()).await;
    let workers = h.workers(1);
    let outcome = h.outcome().await;
    assert_eq!(
        outcome.status,
        ExecutionStatus::Failed,
        "{:?}",
        outcome.failure_reason
    );
    let mut reason = outcome.failure_reason.unwrap_or_default();
    for w in workers {
        if let Ok(Err(e)) = w.await {
            reason.push_str(&format!("; worker: {e}"));
        }
    }
    reason
}

fn reader_job(connection: &str) -> Value {
    json!({
        "apis": [{"_name": "s3_reader_api", "path": unique("missing"), "format": "ldjson",
                  "_connection": connection}],
        "operations": [
            {"_op": "s3_reader", "_api_name": "s3_reader_api"},
            {"_op": "noop"}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_connector_settings_fail_the_job_naming_connector_and_setting() {
    let no_secret = connectors(json!({"secretAccessKey": null}));
    let reason = failure(reader_job("default"), no_secret).await;
    assert!(
        reason.contains("terafoundation.connectors.s3.default.secretAccessKey: S3 secretAccessKey must be defined"),
        "{reason}"
    );
    let https = connectors(json!({"sslEnabled": true}));
    let reason = failure(reader_job("default"), https).await;
    assert!(
        reason.contains("terafoundation.connectors.s3.default.endpoint: S3 endpoint"),
        "{reason}"
    );
    let reason = failure(reader_job("other"), connectors(json!({}))).await;
    assert!(
        reason
            .contains("terafoundation.connectors.s3.other: no such s3 connector (have: [default])"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_endpoints_fail_the_reader_and_the_exporter_instead_of_hanging() {
    // Nothing listens on port 1 of loopback: connections are refused at once.
    let dead = connectors(json!({"endpoint": "http://127.0.0.1:1", "maxRetries": 0}));
    let reason = failure(reader_job("default"), dead.clone()).await;
    assert!(
        reason.contains("s3_reader: cannot list bucket")
            && reason
                .contains("terafoundation.connectors.s3.default (endpoint http://127.0.0.1:1)"),
        "{reason}"
    );
    let exporter = json!({
        "apis": [{"_name": "s3_sender_api", "path": unique("dead"), "format": "ldjson", "size": 10}],
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
        ]
    });
    // The worker cannot start its exporter: it stops, and the execution fails without workers.
    let reason = failure(exporter, dead).await;
    assert!(
        reason.contains("s3_exporter: failure to setup bucket \"teraslice-test\"")
            && reason.contains("creating it failed")
            && reason
                .contains("terafoundation.connectors.s3.default (endpoint http://127.0.0.1:1)"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_exporter_creates_a_missing_bucket() {
    // A bucket name no other test uses (lowercase, digits and '-' only).
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = format!("ts-created-{nanos}/out");
    run(
        json!({
            "workers": 1,
            "apis": [{"_name": "s3_sender_api", "path": path, "format": "ldjson", "size": 100}],
            "operations": [
                {"_op": "data_generator", "size": RECORDS},
                {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
            ]
        }),
        1,
    )
    .await;
    let lines = read_back(&path, "ldjson", "none", json!([])).await;
    assert_every_record_once(&lines, uuid_of, "ldjson into a created bucket");
}

fn client() -> impl object_store::ObjectStore {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(env("S3_ENDPOINT"))
        .with_allow_http(true)
        .with_access_key_id(env("S3_ACCESS_KEY_ID"))
        .with_secret_access_key(env("S3_SECRET_ACCESS_KEY"))
        .with_region(env("S3_REGION"))
        .with_bucket_name(env("S3_BUCKET"))
        .build()
        .unwrap_or_else(|e| panic!("S3 client: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_lines_follow_the_reader_apis_dead_letter_action() {
    use object_store::{ObjectStoreExt, PutPayload};
    let store = client();
    let path = unique("bad-lines");
    let key = format!(
        "{}/part.ldjson",
        path.split_once('/').map(|(_, p)| p).unwrap_or_default()
    );
    store
        .put(
            &key.as_str().into(),
            PutPayload::from("{\"a\":1}\nnot json\n{\"a\":2}\n"),
        )
        .await
        .unwrap_or_else(|e| panic!("put: {e}"));
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    // Example C of the spec: the action sits on the api entry; the op's own is not consulted.
    run(
        json!({
            "apis": [{"_name": "s3_reader_api", "path": path, "format": "ldjson", "_dead_letter_action": "log"}],
            "operations": [
                {"_op": "s3_reader", "_api_name": "s3_reader_api", "_dead_letter_action": "throw"},
                {"_op": "file_exporter", "path": out.path()}
            ]
        }),
        1,
    )
    .await;
    let lines = read_dir_lines(out.path());
    assert_eq!(lines, vec![json!({"a": 1}), json!({"a": 2})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routed_sender_writes_each_route_under_its_own_prefix() {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let path = unique("routed");
    run(
        json!({
            "workers": 2,
            "apis": [{"_name": "s3_sender_api", "path": path, "format": "ldjson", "size": 100}],
            "operations": [
                {"_op": "data_generator", "size": RECORDS},
                {"_op": "hash_router", "partitions": 3, "fields": ["uuid"]},
                {"_op": "routed_sender", "_api_name": "s3_sender_api", "routing": {"**": "default"}}
            ]
        }),
        2,
    )
    .await;
    let prefix = path
        .split_once('/')
        .map(|(_, p)| p)
        .unwrap_or_default()
        .to_string();
    let keys: Vec<String> = client()
        .list(Some(&prefix.as_str().into()))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    let routes: BTreeSet<&str> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(&format!("{prefix}/"))?.split('/').next())
        .collect();
    assert_eq!(routes, BTreeSet::from(["0", "1", "2"]), "{keys:?}");
    let lines = read_back(&path, "ldjson", "none", json!([])).await;
    assert_every_record_once(&lines, uuid_of, "routed");
}

/// Objects above the part size go up as multipart uploads (Teraslice's chunking) and read
/// back whole.
#[tokio::test]
async fn a_large_object_is_written_in_parts_and_reads_back_whole() {
    use object_store::ObjectStoreExt;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(env("S3_ENDPOINT"))
        .with_allow_http(true)
        .with_access_key_id(env("S3_ACCESS_KEY_ID"))
        .with_secret_access_key(env("S3_SECRET_ACCESS_KEY"))
        .with_region(env("S3_REGION"))
        .with_bucket_name(env("S3_BUCKET"))
        .build();
    let store = match store {
        Ok(s) => s,
        Err(e) => panic!("S3 client: {e}"),
    };
    let part = teraslice_asset_file::S3_MIN_PART_SIZE;
    let body: Vec<u8> = (0..2 * part + 1234).map(|i| (i % 253) as u8).collect();
    let prefix = unique("multipart");
    let key = object_store::path::Path::from(format!(
        "{}/big.raw",
        prefix
            .split_once('/')
            .map(|(_, p)| p)
            .unwrap_or("multipart")
    ));
    let written = teraslice_asset_file::s3_put_object(&store, &key, body.clone(), part).await;
    assert!(written.is_ok(), "{written:?}");
    let read = match store.get(&key).await {
        Ok(got) => got.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        Err(e) => panic!("reading {key}: {e}"),
    };
    assert_eq!(read.len(), body.len());
    assert!(read == body, "the object differs from what was written");
    let meta = store.head(&key).await.map(|m| m.e_tag).ok().flatten();
    // S3 marks a multipart object's ETag with its part count.
    assert!(
        meta.as_deref()
            .is_some_and(|t| t.trim_matches('"').ends_with("-3")),
        "{meta:?}"
    );
}
