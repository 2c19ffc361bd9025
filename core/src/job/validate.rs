//! Job validation: every problem reported with its JSON path and what is allowed.
//! (Being filled in: see issue #2.)
use std::fmt;

use serde_json::{Map, Value};

use super::JobConfig;
use crate::config::ClusterManagerType;

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

/// Validates a job JSON and applies Teraslice's defaults.
pub fn validate_job(
    _job: &Value,
    _ctx: &JobValidationContext,
) -> Result<JobConfig, ValidationErrors> {
    unimplemented!("job validation is being written")
}
