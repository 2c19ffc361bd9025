//! `dedupe` (Batch): keeps the first record of each key (a top-level `field`, else metadata
//! `_key`) in the slice; `adjust_time` moves the kept record's time fields to the oldest or
//! newest time seen among its duplicates.
use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::{at_run, shown, validate, Check};
use super::value::{get_path, parse_date, set_path};
use teraslice_runtime::ops::record::KEY;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct Dedupe;

struct Adjust {
    field: String,
    oldest: bool,
}

struct Config {
    field: Option<String>,
    adjust_time: Vec<Adjust>,
}

fn parse(c: &mut Check) -> Config {
    let field = c.optional_string("field");
    let mut adjust_time = Vec::new();
    match c.get("adjust_time") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let f = item
                    .get("field")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                let p = item.get("preference").and_then(Value::as_str);
                match (f, p) {
                    (Some(f), Some(p @ ("oldest" | "newest"))) => adjust_time.push(Adjust {
                        field: f.to_string(),
                        oldest: p == "oldest",
                    }),
                    _ => c.fail(
                        &format!("adjust_time[{i}]"),
                        format!("must be {{\"field\": <non-empty string>, \"preference\": \"oldest\" | \"newest\"}}, got {}", shown(item)),
                    ),
                }
            }
        }
        Some(v) => c.fail(
            "adjust_time",
            format!(
                "must be an array of {{field, preference}} objects, got {}",
                shown(&v)
            ),
        ),
    }
    Config { field, adjust_time }
}

impl ProcessorFactory for Dedupe {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        let errors = validate(config, parse);
        config
            .entry("adjust_time")
            .or_insert(Value::Array(Vec::new()));
        errors
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Run(at_run(ctx, parse)?)))
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

impl Run {
    fn key(&self, r: &Record, index: usize) -> Result<String, OpError> {
        let v = match &self.0.field {
            Some(f) => r.data.get(f),
            None => r.get_metadata(KEY),
        };
        match (v, &self.0.field) {
            (Some(v), _) => Ok(v.to_string()),
            (None, Some(_)) => Ok("undefined".into()),
            (None, None) => Err(OpError::non_retryable(format!(
                "dedupe: record {index} has no metadata _key (set field to dedupe by a record field)"
            ))),
        }
    }

    /// Moves `kept`'s adjusted time fields towards `incoming`'s when that is older/newer.
    fn adjust(&self, kept: &mut Record, incoming: &Record) {
        for a in &self.0.adjust_time {
            let Some(new_value) = get_path(&incoming.data, &a.field) else {
                continue;
            };
            let Some(new_t) = parse_date(new_value) else {
                continue;
            };
            let take = match get_path(&kept.data, &a.field).and_then(parse_date) {
                None => true,
                // The incoming value wins ties for `oldest`, as in Teraslice.
                Some(old_t) if a.oldest => new_t <= old_t,
                Some(old_t) => new_t > old_t,
            };
            if take {
                set_path(&mut kept.data, &a.field, new_value.clone());
            }
        }
    }
}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut out: Vec<Record> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, record) in batch.into_iter().enumerate() {
            let key = self.key(&record, i)?;
            match seen.get(&key) {
                Some(&at) => self.adjust(&mut out[at], &record),
                None => {
                    seen.insert(key, out.len());
                    out.push(record);
                }
            }
        }
        Ok(out)
    }
}
