//! Helpers for the elasticsearch op tests against the real OpenSearch of `cargo xtask opensearch
//! up`: random test indices (deleted on drop), a registry connected to it, slicer/fetcher drivers.
#![allow(dead_code)]
// The generic drivers; this module adds the connectors and the test indices.
#[path = "../../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::sync::Arc;

use serde_json::{json, Map, Value};
use teraslice_core::job::{JobConfig, ValidationError};
use teraslice_runtime::ops::{OpContext, OpError, Record, SliceRequest, SlicerRecoveryData};
use teraslice_runtime::OpRegistry;

#[allow(unused_imports)] // not every test uses it
pub use ops_support::ops;

pub fn url() -> String {
    match std::env::var("OPENSEARCH_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "OPENSEARCH_URL is not set: run `cargo xtask opensearch up` then `eval \"$(cargo xtask opensearch env)\"`"
        ),
    }
}

pub fn connectors() -> Map<String, Value> {
    let c =
        json!({"elasticsearch-next": {"default": {"node": [url()]}, "other": {"node": [url()]}}});
    c.as_object().cloned().unwrap_or_default()
}

pub fn registry() -> OpRegistry {
    with_connectors(connectors())
}

/// The built-in ops and assets, the elasticsearch ops connecting through `connectors` (as a
/// registry configured with them is).
pub fn with_connectors(connectors: Map<String, Value>) -> OpRegistry {
    let mut registry = ops_support::ops();
    teraslice_asset_elasticsearch::register_with_connectors(&mut registry, connectors);
    teraslice_asset_standard::register_routed_sender(&mut registry);
    registry
}

pub fn validate(job: Value) -> Result<JobConfig, Vec<ValidationError>> {
    ops_support::validate_with(job, Arc::new(registry()), connectors())
}

pub fn valid(job: Value) -> JobConfig {
    match validate(job) {
        Ok(j) => j,
        Err(e) => panic!("job should be valid: {e:?}"),
    }
}

/// `(path, message)` of every validation error (empty when valid).
pub fn errors(job: Value) -> Vec<(String, String)> {
    match validate(job) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

pub fn ctx(job: &JobConfig, index: usize, worker: Option<&str>) -> OpContext {
    let apis = match registry().create_apis("ex-1", job) {
        Ok(a) => a,
        Err(e) => panic!("apis: {e}"),
    };
    ops_support::ctx_with_apis(job, index, worker, apis)
}

/// Every request of every slicer stream (`recovery[i]` for stream i), up to `limit` per stream.
pub async fn slices_from(
    job: &JobConfig,
    recovery: &[Option<SlicerRecoveryData>],
    limit: usize,
) -> Result<Vec<Vec<SliceRequest>>, OpError> {
    let reader = registry().reader(job.operations[0].op_name())?;
    let mut out = Vec::new();
    for (i, mut s) in reader.slicers(&ctx(job, 0, None))?.into_iter().enumerate() {
        s.initialize(recovery.get(i).and_then(Option::as_ref))
            .await?;
        let mut mine = Vec::new();
        while mine.len() < limit {
            match s.slice_many().await? {
                Some(reqs) => mine.extend(reqs),
                None => break,
            }
        }
        out.push(mine);
    }
    Ok(out)
}

pub async fn slices(job: &JobConfig) -> Result<Vec<Vec<SliceRequest>>, OpError> {
    slices_from(job, &[], 100_000).await
}

pub async fn fetch(
    job: &JobConfig,
    requests: &[SliceRequest],
) -> Result<Vec<Vec<Record>>, OpError> {
    ops_support::fetch_with(&registry(), &ctx(job, 0, Some("w1")), requests).await
}

/// The first `n` requests of each stream as done before a stop, and the recovery data that
/// resumes each stream after its last done request.
pub fn stopped_after(
    first: &[Vec<SliceRequest>],
    n: usize,
) -> (Vec<Vec<SliceRequest>>, Vec<Option<SlicerRecoveryData>>) {
    let done: Vec<Vec<SliceRequest>> = first
        .iter()
        .map(|s| s.iter().take(n).cloned().collect())
        .collect();
    let recovery = done
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Some(SlicerRecoveryData {
                slicer_id: i as u32,
                last_slice: d.last().cloned(),
            })
        })
        .collect();
    (done, recovery)
}

/// Runs `operations[index]` (a processor) on `batch`.
pub async fn process(
    job: &JobConfig,
    index: usize,
    batch: Vec<Record>,
) -> Result<Vec<Record>, OpError> {
    let f = registry().processor(job.operations[index].op_name())?;
    let mut p = f.processor(&ctx(job, index, Some("w1")))?;
    p.on_batch(batch).await
}

/// A test index with a random name, deleted when dropped.
pub struct TestIndex {
    pub name: String,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn call(method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = http().request(method, format!("{}/{path}", url()));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => panic!("{path}: {e} (is `cargo xtask opensearch up` running?)"),
    };
    let text = resp.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl TestIndex {
    /// Creates `<prefix>-<random>` with `created` (date), `key` (keyword) and `n` (long) mapped.
    pub async fn new(prefix: &str) -> TestIndex {
        let name = format!("ts-es-{prefix}-{}", uuid::Uuid::new_v4().simple());
        let mapping = json!({"mappings": {"properties": {
            "created": {"type": "date"}, "key": {"type": "keyword"}, "n": {"type": "long"},
            "tag": {"type": "keyword"}, "loc": {"type": "geo_point"}
        }}});
        let r = call(reqwest::Method::PUT, &name, Some(mapping)).await;
        assert_eq!(
            r.get("acknowledged"),
            Some(&json!(true)),
            "create {name}: {r}"
        );
        TestIndex { name }
    }

    /// Indexes `(id, doc)` pairs and refreshes.
    pub async fn load(&self, docs: &[(String, Value)]) {
        for chunk in docs.chunks(2000) {
            let mut body = String::new();
            for (id, doc) in chunk {
                body.push_str(&json!({"index": {"_index": self.name, "_id": id}}).to_string());
                body.push('\n');
                body.push_str(&doc.to_string());
                body.push('\n');
            }
            let resp = http()
                .post(format!("{}/_bulk", url()))
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await;
            let v: Value = match resp {
                Ok(r) => {
                    serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or_default()
                }
                Err(e) => panic!("bulk load: {e}"),
            };
            assert_eq!(v.get("errors"), Some(&json!(false)), "bulk load: {v}");
        }
        self.refresh().await;
    }

    pub async fn refresh(&self) {
        call(
            reqwest::Method::POST,
            &format!("{}/_refresh", self.name),
            None,
        )
        .await;
    }

    pub async fn count(&self) -> u64 {
        self.refresh().await;
        let v = call(reqwest::Method::GET, &format!("{}/_count", self.name), None).await;
        v.get("count").and_then(Value::as_u64).unwrap_or(u64::MAX)
    }

    /// Every document as `(id, source)`, sorted by id.
    pub async fn docs(&self) -> Vec<(String, Value)> {
        self.refresh().await;
        let v = call(
            reqwest::Method::POST,
            &format!("{}/_search", self.name),
            Some(json!({"size": 10000, "query": {"match_all": {}}})),
        )
        .await;
        let mut out: Vec<(String, Value)> = v
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|h| {
                let id = h
                    .get("_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (id, h.get("_source").cloned().unwrap_or_default())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl Drop for TestIndex {
    fn drop(&mut self) {
        let url = format!("{}/{}", url(), self.name);
        // Drop cannot await: delete from a short-lived thread with its own runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = reqwest::Client::new().delete(url).send().await;
                });
            }
        })
        .join();
    }
}

/// `n` docs `{created, key, n}` spread over `[start_ms, start_ms + span_ms)`; ids are base64url-ish.
pub fn dated_docs(n: usize, start_ms: i64, span_ms: i64) -> Vec<(String, Value)> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n)
        .map(|i| {
            // A spread of ids over the alphabet, unique by the index suffix.
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let a = ALPHA[(h >> 58) as usize] as char;
            let b = ALPHA[((h >> 52) & 63) as usize] as char;
            let id = format!("{a}{b}{i:06}");
            let t = start_ms + (i as i64 * span_ms) / n as i64;
            let created = chrono::DateTime::from_timestamp_millis(t)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            (id.clone(), json!({"created": created, "key": id, "n": i}))
        })
        .collect()
}

/// Epoch ms of an ISO date (panics on a bad literal in a test).
pub fn ms(iso: &str) -> i64 {
    match chrono::DateTime::parse_from_rfc3339(iso) {
        Ok(d) => d.timestamp_millis(),
        Err(e) => panic!("bad test date {iso}: {e}"),
    }
}

/// [`process`] with the connectors pointing at `node` (e.g. a proxy in front of OpenSearch).
pub async fn process_through(
    node: &str,
    job: &JobConfig,
    index: usize,
    batch: Vec<Record>,
) -> Result<Vec<Record>, OpError> {
    let c = json!({"elasticsearch-next": {"default": {"node": [node]}}});
    let registry = with_connectors(c.as_object().cloned().unwrap_or_default());
    let f = registry.processor(job.operations[index].op_name())?;
    let mut p = f.processor(&ctx(job, index, Some("w1")))?;
    p.on_batch(batch).await
}
