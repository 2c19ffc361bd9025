//! `json_parser` (Batch): parses each record's raw text into a JSON record, keeping its
//! metadata. The raw text is the record itself when it is a JSON string, or its `data` string
//! (what `file_reader` with `format: raw` makes). A record that does not parse, or has no raw
//! text, goes to `_dead_letter_action`, which defaults to `log` (the record is dropped) here.
use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct JsonParser;

impl ProcessorFactory for JsonParser {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        // Job validation fills `throw` into every op before this runs: look at what was given.
        let given = job
            .get("operations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|op| {
                op.get("_op").and_then(Value::as_str) == config.get("_op").and_then(Value::as_str)
            })
            .any(|op| op.get("_dead_letter_action").is_some());
        if !given {
            config.insert("_dead_letter_action".into(), Value::from("log"));
        }
        Vec::new()
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let mut ctx = ctx.clone();
        ctx.config
            .0
            .entry("_dead_letter_action")
            .or_insert_with(|| Value::from("log"));
        Ok(Box::new(Run(ctx)))
    }
}

/// The raw text of a record, if it has one.
fn raw_text(r: &Record) -> Option<&str> {
    match &r.data {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("data").and_then(Value::as_str),
        _ => None,
    }
}

struct Run(OpContext);

impl OperationLifecycle for Run {}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut out = Vec::with_capacity(batch.len());
        for record in batch {
            let parsed = match raw_text(&record) {
                None => Err(
                    "the record has no raw text (a JSON string or {\"data\": \"<text>\"})"
                        .to_string(),
                ),
                // NUL characters are stripped first, as in Teraslice.
                Some(text) => serde_json::from_str::<Value>(&text.replace('\0', ""))
                    .map_err(|e| format!("invalid JSON: {e}")),
            };
            match parsed {
                Ok(data) => {
                    let mut record = record;
                    record.data = data;
                    out.push(record);
                }
                Err(e) => self
                    .0
                    .reject_record(&record, OpError::non_retryable(format!("json_parser: {e}")))?,
            }
        }
        Ok(out)
    }
}
