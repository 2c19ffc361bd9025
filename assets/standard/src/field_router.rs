//! `field_router` (Map): metadata `standard:route` from the values of `fields`, e.g.
//! `country_US-state_CA`.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::value::{get_path, js_string};
use super::ROUTE;
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct FieldRouter;

struct Config {
    fields: Vec<String>,
    field_delimiter: String,
    value_delimiter: String,
    include_field_names: bool,
}

fn parse(c: &mut Check) -> Config {
    let missing = c.get("fields").is_none();
    let fields = c.strings("fields");
    if missing || (fields.is_empty() && c.errors.iter().all(|e| e.path != "fields")) {
        c.fail("fields", "is required: a non-empty array of field names");
    }
    Config {
        fields,
        field_delimiter: c.string("field_delimiter", "-"),
        value_delimiter: c.string("value_delimiter", "_"),
        include_field_names: c.bool("include_field_names", true),
    }
}

impl ProcessorFactory for FieldRouter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

/// The string form of a value in a route: null/missing → "", arrays comma-joined.
fn route_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(v) => js_string(v),
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        let c = &self.0;
        let parts: Vec<String> = c
            .fields
            .iter()
            .map(|f| {
                let value = route_value(get_path(&record.data, f));
                let part = if c.include_field_names {
                    format!("{f}{}{value}", c.value_delimiter)
                } else {
                    value
                };
                // `=` and `/` would break a path or index name built from the route.
                part.replace(['=', '/'], "_")
            })
            .collect();
        record.set_metadata(ROUTE, Value::String(parts.join(&c.field_delimiter)));
        Ok(record)
    }
}
