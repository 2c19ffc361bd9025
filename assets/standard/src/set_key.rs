//! `set_key` (Map): metadata `_key` = the record's top-level `field` (default `_key`).
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use teraslice_runtime::ops::record::KEY;
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct SetKey;

fn parse(c: &mut Check) -> String {
    c.string("field", "_key")
}

impl ProcessorFactory for SetKey {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

struct Run(String);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        match record.data.get(&self.0).cloned() {
            Some(v) => record.set_metadata(KEY, v),
            // Teraslice sets `_key` to undefined: the record has no key afterwards.
            None => {
                record.metadata.shift_remove(KEY);
            }
        }
        Ok(record)
    }
}
