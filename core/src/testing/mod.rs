//! Conformance suites every `ClusterBackend` and `StateStore` implementation runs, wrappers that
//! change one behaviour of a backend or store, and helpers to build test jobs and executions.
pub mod backend;
mod forwarding_backend;
mod outage_store;
pub mod store;

pub use forwarding_backend::{BackendHooks, ForwardingBackend};
pub use outage_store::{OutageStore, StoreCall};

use std::future::Future;
use std::time::Duration;

use serde_json::json;

use crate::execution::ExecutionRecord;
use crate::job::JobConfig;

/// A minimal valid job (test-reader → noop) with `workers` workers, Teraslice defaults elsewhere.
pub fn sample_job(name: &str, workers: u32) -> JobConfig {
    let value = json!({
        "name": name,
        "lifecycle": "once",
        "active": true,
        "analytics": false,
        "assets": null,
        "autorecover": false,
        "max_retries": 3,
        "operations": [{"_op": "test-reader"}, {"_op": "noop"}],
        "apis": [],
        "probation_window": 300000,
        "slicers": 1,
        "workers": workers,
        "stateful": false,
        "labels": null,
        "env_vars": {},
        "log_level": null
    });
    // The literal above has every required field, so this cannot fail.
    serde_json::from_value(value).expect("sample job literal is a valid JobConfig")
}

/// A pending execution of [`sample_job`] with a fresh job id.
pub fn sample_execution(name: &str, workers: u32) -> ExecutionRecord {
    ExecutionRecord::new(&uuid::Uuid::new_v4().to_string(), sample_job(name, workers))
}

/// Polls `check` every 20 ms until it returns true; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
