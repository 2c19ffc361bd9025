//! `drop_field` (Map): deletes one or more top-level fields.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct DropField;

fn parse(c: &mut Check) -> Vec<String> {
    c.required_strings("field")
}

impl ProcessorFactory for DropField {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

struct Run(Vec<String>);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        if let Value::Object(m) = &mut record.data {
            for f in &self.0 {
                m.shift_remove(f);
            }
        }
        Ok(record)
    }
}
