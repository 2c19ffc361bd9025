//! `debug_routes` (Batch): prints one line per slice with the number of records per
//! `standard:route` (`<unknown>` when unset), e.g. `{"0":4,"1":6}`; the slice passes unchanged.
use std::collections::BTreeMap;
use std::io::Write;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::ROUTE;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct DebugRoutes;

impl ProcessorFactory for DebugRoutes {
    fn validate(&self, _config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        Vec::new()
    }
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Run))
    }
}

/// Records per route, as printed.
pub fn counts(batch: &[Record]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in batch {
        let route = match r.get_metadata(ROUTE) {
            None | Some(Value::Null) => "<unknown>".to_string(),
            Some(v) => super::value::js_string(v),
        };
        *counts.entry(route).or_insert(0) += 1;
    }
    counts
}

struct Run;

impl OperationLifecycle for Run {}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let line = serde_json::to_string(&counts(&batch)).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .map_err(|e| OpError::new(format!("debug_routes: cannot write to stdout: {e}")))?;
        Ok(batch)
    }
}
