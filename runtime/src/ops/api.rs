//! Job APIs (`job.apis[]`): shared objects (clients, dead-letter queues…) that ops look up by name.
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::job::{ApiConfig, JobConfig, ValidationError};

use super::{OpError, Record};

/// An API instance: any shareable value; ops get it back typed with [`ApiSet::get`].
pub type ApiInstance = Arc<dyn Any + Send + Sync>;

/// What an [`ApiFactory`] gets to build one instance.
pub struct ApiContext<'a> {
    /// The execution the API is created for.
    pub ex_id: &'a str,
    /// The execution's job.
    pub job: &'a JobConfig,
    /// The job's `apis[]` entry, validated.
    pub config: &'a ApiConfig,
}

/// Builds the API named by an `apis[]` entry's `_name` (Teraslice `OperationAPI.createAPI`).
pub trait ApiFactory: Send + Sync {
    /// Checks the entry and fills in defaults; paths are relative to the entry.
    fn validate(&self, _config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        Vec::new()
    }
    /// Builds the instance, once per process (EC or worker) of the execution.
    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError>;
}

/// A dead-letter queue: an API an op's `_dead_letter_action` can name. Register an
/// [`ApiFactory`] whose instance is an `Arc<DeadLetterQueue>`.
pub struct DeadLetterQueue(pub DeadLetterFn);

/// What a [`DeadLetterQueue`] does with a rejected record.
pub type DeadLetterFn = Box<dyn Fn(&Record, &OpError) + Send + Sync>;

/// The APIs created for one execution, by their full `_name` (e.g. `my_api:tag`).
#[derive(Clone, Default)]
pub struct ApiSet(Arc<HashMap<String, ApiInstance>>);

impl ApiSet {
    /// The APIs of `apis`, by full `_name`.
    pub fn new(apis: HashMap<String, ApiInstance>) -> Self {
        ApiSet(Arc::new(apis))
    }
    /// The API named `name`, as type `T`.
    pub fn get<T: Any + Send + Sync>(&self, name: &str) -> Result<Arc<T>, OpError> {
        let api = self.0.get(name).ok_or_else(|| {
            let mut known: Vec<_> = self.0.keys().cloned().collect();
            known.sort();
            OpError::non_retryable(format!(
                "api \"{name}\" is not in the job's apis; known apis: [{}]",
                known.join(", ")
            ))
        })?;
        Arc::clone(api).downcast::<T>().map_err(|_| {
            OpError::non_retryable(format!(
                "api \"{name}\" is not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
    /// The full names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<_> = self.0.keys().cloned().collect();
        v.sort();
        v
    }
}

/// The module name of an api `_name`: `name:tag` and `name@asset:tag` → `name`.
pub fn api_module_name(full: &str) -> &str {
    let end = full.find(['@', ':']).unwrap_or(full.len());
    &full[..end]
}
