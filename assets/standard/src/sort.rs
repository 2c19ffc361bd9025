//! `sort` (Batch): a stable sort of the slice by the value at `field` (a path).
use std::cmp::Ordering;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::value::get_path;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct Sort;

struct Config {
    field: String,
    descending: bool,
}

fn parse(c: &mut Check) -> Config {
    Config {
        field: c.required_string("field"),
        descending: c.one_of("order", &["asc", "desc"], "asc") == "desc",
    }
}

impl ProcessorFactory for Sort {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Run(at_run(ctx, parse)?)))
    }
}

/// A total order close to JavaScript's `<`: numbers (and booleans) numerically, strings by
/// UTF-16 code units, numbers before strings, and records without a comparable value last.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn class(v: Option<&Value>) -> (u8, f64) {
        match v {
            Some(Value::Number(n)) => (0, n.as_f64().unwrap_or(0.0)),
            Some(Value::Bool(b)) => (0, f64::from(u8::from(*b))),
            Some(Value::String(_)) => (1, 0.0),
            _ => (2, 0.0),
        }
    }
    let (ca, na) = class(a);
    let (cb, nb) = class(b);
    match (ca.cmp(&cb), a, b) {
        (Ordering::Equal, Some(Value::String(x)), Some(Value::String(y))) => {
            x.encode_utf16().cmp(y.encode_utf16())
        }
        (Ordering::Equal, _, _) if ca == 0 => na.total_cmp(&nb),
        (o, _, _) => o,
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, mut batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let f = &self.0.field;
        let desc = self.0.descending;
        batch.sort_by(|a, b| {
            let o = compare(get_path(&a.data, f), get_path(&b.data, f));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        Ok(batch)
    }
}
