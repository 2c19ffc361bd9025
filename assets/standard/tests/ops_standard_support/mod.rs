//! Helpers for the standard asset op tests: validate a one-op job, run the op on records.
#![allow(dead_code)]
use serde_json::{json, Map, Value};
use teraslice_core::job::JobConfig;
use teraslice_runtime::ops::{OpError, Record};

#[path = "../ops_support/mod.rs"]
mod ops_support;

pub use ops_support::{ctx, registry, validate};

/// `test-reader` then `op` (plus `apis`).
pub fn job_json(op: Value, apis: Value) -> Value {
    json!({"name": "standard", "operations": [{"_op": "test-reader"}, op], "apis": apis})
}

/// The validated job, or its errors as text.
pub fn job(op: Value) -> Result<JobConfig, OpError> {
    job_with_apis(op, json!([]))
}

pub fn job_with_apis(op: Value, apis: Value) -> Result<JobConfig, OpError> {
    validate(job_json(op, apis)).map_err(|e| OpError::new(format!("{e:?}")))
}

/// The op's config after validation (defaults filled in).
pub fn validated(op: Value) -> Result<Map<String, Value>, OpError> {
    Ok(job(op)?.operations[1].0.clone())
}

/// `(path, message)` of each problem of the op (paths relative to the op).
pub fn op_errors(op: Value) -> Vec<(String, String)> {
    op_errors_with_apis(op, json!([]))
}

pub fn op_errors_with_apis(op: Value, apis: Value) -> Vec<(String, String)> {
    match validate(job_json(op, apis)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .filter_map(|e| {
                let path = e.path.strip_prefix("operations[1].")?.to_string();
                Some((path, e.message))
            })
            .collect(),
    }
}

/// Asserts that the op's config is rejected at `path` with a message containing each of `words`.
#[track_caller]
pub fn assert_rejected(op: Value, path: &str, words: &[&str]) {
    let errors = op_errors(op.clone());
    let hit = errors.iter().find(|(p, _)| p == path);
    let Some((_, message)) = hit else {
        panic!("{op} should be rejected at {path}; errors: {errors:?}");
    };
    for w in words {
        assert!(
            message.contains(w),
            "{path}: {message:?} should mention {w:?}"
        );
    }
}

/// A record with data and metadata.
pub fn rec(data: Value, metadata: Value) -> Record {
    let mut r = Record::new(data);
    if let Value::Object(m) = metadata {
        r.metadata.extend(m);
    }
    r
}

/// Runs the validated op (operations[1]) on one batch.
pub async fn run_job(job: &JobConfig, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
    let factory = registry().processor(job.operations[1].op_name())?;
    let mut p = factory.processor(&ctx(job, 1, Some("w1")))?;
    p.initialize().await?;
    p.on_batch(batch).await
}

pub async fn run(op: Value, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
    run_job(&job(op)?, batch).await
}

/// Runs the op on plain records (no metadata) and returns the data.
pub async fn run_data(op: Value, data: Vec<Value>) -> Result<Vec<Value>, OpError> {
    let out = run(op, data.into_iter().map(Record::new).collect()).await?;
    Ok(out.into_iter().map(|r| r.data).collect())
}

/// The `standard:route` of each record.
pub fn routes(records: &[Record]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            r.get_metadata("standard:route")
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect()
}
