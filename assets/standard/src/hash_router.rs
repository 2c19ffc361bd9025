//! `hash_router` (Map): metadata `standard:route` = FNV-1a-32 of the record's field values (or of
//! its `_key`) modulo `partitions`, as a decimal string.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use super::value::js_string;
use super::{key_string, ROUTE};
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct HashRouter;

struct Config {
    partitions: u32,
    fields: Vec<String>,
}

fn parse(c: &mut Check) -> Config {
    if c.get("partitions").is_none() {
        c.fail("partitions", "is required: an integer of at least 1");
    }
    let partitions = c.int("partitions", None, 1).unwrap_or(1);
    let partitions = u32::try_from(partitions).unwrap_or_else(|_| {
        c.fail(
            "partitions",
            format!("must be at most {}, got {partitions}", u32::MAX),
        );
        1
    });
    Config {
        partitions,
        fields: c.strings("fields"),
    }
}

impl ProcessorFactory for HashRouter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run(at_run(ctx, parse)?))))
    }
}

/// 32-bit FNV-1a.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

struct Run(Config);

impl OperationLifecycle for Run {}

impl MapProcessor for Run {
    fn map(&mut self, mut record: Record, index: usize) -> Result<Record, OpError> {
        let c = &self.0;
        let input = if c.fields.is_empty() {
            key_string(&record, "hash_router", index)?
        } else {
            // A missing field adds nothing (Teraslice would add the text "undefined").
            c.fields
                .iter()
                .filter_map(|f| record.data.get(f).map(js_string))
                .collect()
        };
        let route = fnv1a32(input.as_bytes()) % c.partitions;
        record.set_metadata(ROUTE, Value::String(route.to_string()));
        Ok(record)
    }
}
