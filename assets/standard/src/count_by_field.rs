//! `count_by_field` (Map): counts the values of a top-level field; records pass unchanged.
//! With `collect_metrics` the counts of each slice are logged (debug) and added to the counter
//! `count_by_field_count_total{<field>=value, field, op_name}`, as in Teraslice.
use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, validate, Check};
use teraslice_runtime::ops::{
    self, BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct CountByField;

struct Config {
    field: String,
    collect_metrics: bool,
}

fn parse(c: &mut Check) -> Config {
    Config {
        field: c.required_string("field"),
        collect_metrics: c.bool("collect_metrics", false),
    }
}

impl ProcessorFactory for CountByField {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(ops::Map(Run {
            cfg: at_run(ctx, parse)?,
            counts: BTreeMap::new(),
            metrics: ctx.metrics(),
        })))
    }
}

struct Run {
    cfg: Config,
    /// JSON text of the value (so `6` and `"6"` differ, as in Teraslice) → count.
    counts: BTreeMap<String, u64>,
    metrics: teraslice_runtime::metrics::OpMetrics,
}

#[async_trait]
impl OperationLifecycle for Run {
    async fn on_slice_finalizing(&mut self, _slice_id: &str) -> Result<(), OpError> {
        if self.cfg.collect_metrics {
            tracing::debug!(field = %self.cfg.field, counts = ?self.counts, "count_by_field");
            let field = self.cfg.field.as_str();
            for (value, n) in std::mem::take(&mut self.counts) {
                let value = serde_json::from_str::<String>(&value).unwrap_or(value);
                let labels = [(field, value.as_str()), ("field", field)];
                let help = "count_by_field value field count";
                self.metrics
                    .counter("count_by_field_count", help, &labels)
                    .inc_by(n);
            }
        }
        Ok(())
    }
}

impl MapProcessor for Run {
    fn map(&mut self, record: Record, _index: usize) -> Result<Record, OpError> {
        if self.cfg.collect_metrics {
            let value = record.data.get(&self.cfg.field).map(Value::to_string);
            let key = value.unwrap_or_else(|| "undefined".into());
            *self.counts.entry(key).or_insert(0) += 1;
        }
        Ok(record)
    }
}
