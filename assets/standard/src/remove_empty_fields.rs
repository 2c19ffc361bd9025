//! `remove_empty_fields` (Map): drops top-level fields that are null, blank strings, `[]` or
//! `{}`; booleans and numbers always stay.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct RemoveEmptyFields;

impl ProcessorFactory for RemoveEmptyFields {
    fn validate(&self, _config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        Vec::new()
    }
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run)))
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

struct Run;

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        if let Value::Object(m) = &mut record.data {
            m.retain(|_, v| !is_empty(v));
        }
        Ok(record)
    }
}
