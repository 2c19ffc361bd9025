//! Helpers for the asset op tests: validate a job through the registry, build op contexts,
//! drain slicers and fetch slices, without an execution controller. The file and elasticsearch
//! asset crates' tests include this file by `#[path]` (each dev-depends on the other assets).
#![allow(dead_code)]
use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::job::{validate_job, JobConfig, JobValidationContext, ValidationError};
use teraslice_runtime::ops::{ApiSet, OpContext, OpError, Record, SliceRequest};
use teraslice_runtime::OpRegistry;

/// The core built-ins and the three assets, registered as the `teraslice` binary does.
pub fn ops() -> OpRegistry {
    let mut ops = OpRegistry::with_builtins();
    teraslice_asset_file::register(&mut ops);
    teraslice_asset_elasticsearch::register(&mut ops);
    teraslice_asset_standard::register(&mut ops);
    ops
}

pub fn registry() -> Arc<OpRegistry> {
    Arc::new(ops())
}

/// Validates `job` with the built-in ops and assets as the catalog.
pub fn validate(job: Value) -> Result<JobConfig, Vec<ValidationError>> {
    validate_with(job, registry(), Map::new())
}

/// Validates `job` with `ops` as the catalog and `connectors` as `terafoundation.connectors`.
pub fn validate_with(
    job: Value,
    ops: Arc<OpRegistry>,
    connectors: Map<String, Value>,
) -> Result<JobConfig, Vec<ValidationError>> {
    let ctx = JobValidationContext {
        cluster_manager_type: ClusterManagerType::NATIVE,
        cpu_count: 2,
        kubernetes_overrides_enabled: false,
        connectors,
        ops: Some(ops),
    };
    validate_job(&job, &ctx).map_err(|e| e.0)
}

/// Validation errors of a job that must be invalid.
pub fn errors(job: Value) -> Vec<ValidationError> {
    match validate(job) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}

pub fn ctx(job: &JobConfig, index: usize, worker: Option<&str>) -> OpContext {
    ctx_with_apis(job, index, worker, ApiSet::default())
}

pub fn ctx_with_apis(
    job: &JobConfig,
    index: usize,
    worker: Option<&str>,
    apis: ApiSet,
) -> OpContext {
    OpContext {
        ex_id: "ex-1".into(),
        job_id: "job-1".into(),
        job: Arc::new(job.clone()),
        config: job.operations[index].clone(),
        index,
        worker_id: worker.map(str::to_string),
        apis,
    }
}

/// Every request of the reader's slicers, in order (stops after `limit`, for persistent jobs).
pub async fn slices(job: &JobConfig, limit: usize) -> Result<Vec<SliceRequest>, OpError> {
    let reader = registry().reader(job.operations[0].op_name())?;
    let mut out = Vec::new();
    for mut s in reader.slicers(&ctx(job, 0, None))? {
        s.initialize(None).await?;
        while out.len() < limit {
            match s.slice().await? {
                Some(req) => out.push(req),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The records of every slice, slice by slice.
pub async fn fetch_all(
    job: &JobConfig,
    requests: &[SliceRequest],
) -> Result<Vec<Vec<Record>>, OpError> {
    fetch_with(&registry(), &ctx(job, 0, Some("w1")), requests).await
}

/// The records of every slice, fetched by the reader `ctx` is the context of.
pub async fn fetch_with(
    registry: &OpRegistry,
    ctx: &OpContext,
    requests: &[SliceRequest],
) -> Result<Vec<Vec<Record>>, OpError> {
    let reader = registry.reader(ctx.config.op_name())?;
    let mut fetcher = reader.fetcher(ctx)?;
    let mut out = Vec::new();
    for r in requests {
        out.push(fetcher.fetch(r).await?);
    }
    Ok(out)
}
