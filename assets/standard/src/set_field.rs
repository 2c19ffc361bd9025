//! `set_field` (Map): sets `field` (a path; objects are created on the way) to a constant
//! `value`, leaving an existing value alone unless `overwrite`.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::value::{get_path, set_path};
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct SetField;

struct Config {
    field: String,
    value: Value,
    overwrite: bool,
}

fn parse(c: &mut Check) -> Config {
    let field = c.required_string("field");
    let value = c.get("value").unwrap_or_else(|| {
        c.fail("value", "is required: any JSON value except null");
        Value::Null
    });
    Config {
        field,
        value,
        overwrite: c.bool("overwrite", false),
    }
}

impl ProcessorFactory for SetField {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        let c = &self.0;
        if c.overwrite || get_path(&record.data, &c.field).is_none() {
            set_path(&mut record.data, &c.field, c.value.clone());
        }
        Ok(record)
    }
}
