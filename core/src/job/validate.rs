//! Job validation: every problem reported with its JSON path and what is allowed, and Teraslice's
//! defaults applied (teraslice-runtime.md §1.1–1.3, teraslice-k8s.md §3.2).
use std::fmt;

use serde_json::{Map, Value};

use super::{JobConfig, Lifecycle, LogLevel};
use crate::config::ClusterManagerType;

pub(crate) mod fields;
pub(crate) mod k8s_fields;
pub(crate) mod k8s_names;
pub use k8s_names::{dns_subdomain_from, sanitize_label_part};
mod operations;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_table;

use fields::{describe, Fields, Problems};

/// What validation needs to know about the cluster and the available operations.
#[derive(Clone)]
pub struct JobValidationContext {
    pub cluster_manager_type: ClusterManagerType,
    /// CPU count of the validating host: `workers` defaults to `min(cpu_count, 5)`.
    pub cpu_count: usize,
    pub kubernetes_overrides_enabled: bool,
    /// Connector names per type (`terafoundation.connectors`), for `_connection` checks.
    pub connectors: Map<String, Value>,
    /// Operations known to the runtime; `None` skips op checks (core alone cannot know them).
    pub ops: Option<std::sync::Arc<dyn OpCatalog>>,
}

impl fmt::Debug for JobValidationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobValidationContext")
            .field("cluster_manager_type", &self.cluster_manager_type)
            .field("cpu_count", &self.cpu_count)
            .field(
                "kubernetes_overrides_enabled",
                &self.kubernetes_overrides_enabled,
            )
            .field("connectors", &self.connectors.keys().collect::<Vec<_>>())
            .field("ops", &self.ops.as_ref().map(|c| c.op_names()))
            .finish()
    }
}

/// Where an operation stands in the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpRole {
    Reader,
    Processor,
}

/// The runtime's registry of operations, as validation sees it.
pub trait OpCatalog: Send + Sync {
    /// Every op name the runtime knows, for "unknown op" errors.
    fn op_names(&self) -> Vec<String>;
    /// Validates (and fills defaults into) one op's config; problems use paths relative to the op
    /// (e.g. `size`), the caller prefixes `operations[i].`.
    fn validate_op(
        &self,
        role: OpRole,
        op: &mut Map<String, Value>,
        job: &Value,
    ) -> Vec<ValidationError>;
    /// Validates one `apis[]` entry by its `_name`, if the runtime knows that API.
    fn validate_api(&self, api: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError>;
    /// The assets whose ops the runtime has built in; a job's `assets` (and `_op: "name@asset"`)
    /// may name only these, with any version. Empty (the default) leaves assets unchecked.
    fn asset_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The 40-hex id of the built-in asset an `assets` entry names (`standard`,
    /// `standard:1.2.0`, `standard@1.2.0`, or the id itself); `None` when it names none.
    fn asset_id(&self, _entry: &str) -> Option<String> {
        None
    }
}

/// The asset name of an `assets` entry or `@asset` suffix: `standard:1.2.0` and
/// `standard@1.2.0` → `standard`.
pub fn asset_name(entry: &str) -> &str {
    entry.split([':', '@']).next().unwrap_or(entry).trim()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON path of the offending field, e.g. `operations[1]._op` or `workers`.
    pub path: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid job: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Top-level keys the job schema declares; any other key is kept in [`JobConfig::extra`].
const DECLARED_KEYS: &[&str] = &[
    "name",
    "lifecycle",
    "active",
    "analytics",
    "assets",
    "autorecover",
    "max_retries",
    "operations",
    "apis",
    "probation_window",
    "slicers",
    "workers",
    "stateful",
    "labels",
    "env_vars",
    "log_level",
    "targets",
    "cpu",
    "memory",
    "cpu_execution_controller",
    "memory_execution_controller",
    "resources_requests_cpu",
    "resources_limits_cpu",
    "resources_requests_memory",
    "resources_limits_memory",
    "ephemeral_storage",
    "external_ports",
    "pod_spec_override",
    "volumes",
    "kubernetes_image",
    "prom_metrics_enabled",
    "prom_metrics_port",
    "prom_metrics_add_default",
    "relocatable",
];

pub(crate) const LOG_LEVELS: &[(&str, LogLevel)] = &[
    ("trace", LogLevel::Trace),
    ("debug", LogLevel::Debug),
    ("info", LogLevel::Info),
    ("warn", LogLevel::Warn),
    ("error", LogLevel::Error),
    ("fatal", LogLevel::Fatal),
];

/// Validates a job JSON and applies Teraslice's defaults. Returns every problem found.
pub fn validate_job(
    job: &Value,
    ctx: &JobValidationContext,
) -> Result<JobConfig, ValidationErrors> {
    let Value::Object(obj) = job else {
        return Err(ValidationErrors(vec![ValidationError {
            path: "job".to_string(),
            message: format!("must be a JSON object, got {}", describe(job)),
        }]));
    };
    let mut problems = Problems::default();
    let mut f = Fields::new(obj, "", &mut problems);
    let default_workers = u32::try_from(ctx.cpu_count.clamp(1, 5)).unwrap_or(1);
    let apis = operations::apis(&mut f, ctx, job);
    let operations = operations::operations(&mut f, &apis, ctx, job);
    let config = JobConfig {
        name: f.required_string("name", "Custom Job"),
        lifecycle: f.one_of(
            "lifecycle",
            &[
                ("once", Lifecycle::Once),
                ("persistent", Lifecycle::Persistent),
            ],
            Lifecycle::Once,
        ),
        active: f.bool("active", true),
        analytics: f.bool("analytics", true),
        assets: assets(&mut f, ctx),
        autorecover: f.bool("autorecover", false),
        max_retries: f.nat("max_retries", 3),
        operations,
        apis,
        probation_window: f.duration_ms("probation_window", 300_000),
        slicers: f.positive_int("slicers", 1),
        workers: f.positive_int("workers", default_workers),
        stateful: f.bool("stateful", false),
        labels: k8s_fields::labels(&mut f),
        env_vars: k8s_fields::env_vars(&mut f),
        log_level: match f.raw("log_level") {
            None | Some(Value::Null) => None,
            Some(_) => f.opt_one_of("log_level", LOG_LEVELS),
        },
        targets: k8s_fields::targets(&mut f, "targets"),
        cpu: f.non_negative_number("cpu"),
        memory: f.non_negative_number("memory"),
        cpu_execution_controller: f.non_negative_number("cpu_execution_controller"),
        memory_execution_controller: f.non_negative_number("memory_execution_controller"),
        resources_requests_cpu: f.non_negative_number("resources_requests_cpu"),
        resources_limits_cpu: f.non_negative_number("resources_limits_cpu"),
        resources_requests_memory: f.non_negative_number("resources_requests_memory"),
        resources_limits_memory: f.non_negative_number("resources_limits_memory"),
        ephemeral_storage: f.bool("ephemeral_storage", false),
        external_ports: k8s_fields::external_ports(&mut f),
        pod_spec_override: k8s_fields::pod_spec_override(&mut f, ctx.kubernetes_overrides_enabled),
        volumes: k8s_fields::volumes(&mut f),
        kubernetes_image: f.optional_string("kubernetes_image", None),
        prom_metrics_enabled: f.opt_bool("prom_metrics_enabled"),
        prom_metrics_port: f.opt_port("prom_metrics_port"),
        prom_metrics_add_default: f.opt_bool("prom_metrics_add_default"),
        relocatable: f.opt_bool("relocatable"),
        extra: obj
            .iter()
            .filter(|(k, _)| !DECLARED_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    // Not a declared field of ours, but a Kubernetes option worth checking when given.
    f.opt_bool("kubernetes_worker_antiaffinity");
    k8s_fields::cross_rules(&config, &mut problems);
    if problems.is_empty() {
        warn_about(&config);
        Ok(config)
    } else {
        Err(ValidationErrors(problems.0))
    }
}

/// Keys of stored job and execution records, which come back through validation on restart.
const RECORD_KEYS: &[&str] = &[
    "job_id",
    "ex_id",
    "metadata",
    "slicer_hostname",
    "slicer_port",
    "teraslice_version",
    "recovered_execution",
    "recovered_slice_type",
    "kubernetes_worker_antiaffinity",
];

/// Teraslice keeps undeclared keys and deprecated fields, with a warning.
fn warn_about(job: &JobConfig) {
    for key in job.extra.keys() {
        if !key.starts_with('_') && !RECORD_KEYS.contains(&key.as_str()) {
            tracing::warn!(job = %job.name, key = %key, "job key is not part of the job schema; kept as given");
        }
    }
    for (field, value) in [("cpu", job.cpu), ("memory", job.memory)] {
        if value.is_some() {
            tracing::warn!(job = %job.name, field, "job field is deprecated; use resources_requests_{field} and resources_limits_{field}");
        }
    }
}

/// `assets`: null or an array of asset ids / names / `name:version` strings; with a catalog,
/// only the runtime's built-in assets (uploaded assets are not run), each given as its id in the
/// validated job (as Teraslice's asset loader resolves names to ids).
fn assets(f: &mut Fields, ctx: &JobValidationContext) -> Option<Vec<String>> {
    let builtin = ctx
        .ops
        .as_ref()
        .map(|c| c.asset_names())
        .unwrap_or_default();
    if matches!(f.raw("assets"), None | Some(Value::Null)) {
        return None;
    }
    let items = f.array("assets", "must be null or an array of asset ids or names")?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = match (item, &ctx.ops) {
            (Value::String(s), Some(catalog)) => catalog.asset_id(s),
            _ => None,
        };
        match item {
            Value::String(_) if id.is_some() => out.extend(id),
            Value::String(s) if !builtin.is_empty() => {
                f.problems.add(
                    format!("assets[{i}]"),
                    format!(
                        "asset \"{s}\" is not available: only the built-in assets {} can be used (with any version, e.g. \"standard:2.1.2\"); uploaded assets are not run, so remove it and use built-in ops",
                        builtin.join(", ")
                    ),
                );
            }
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            other => f.problems.add(
                format!("assets[{i}]"),
                format!(
                    "must be a non-empty asset id, name or name:version string, got {}",
                    describe(other)
                ),
            ),
        }
    }
    Some(out)
}
