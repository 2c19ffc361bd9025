//! `add_key` (Batch): a deterministic key hashed from field values, written to the record body
//! and to metadata `key_name` (default `_key`); records with too few values are dropped.
use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::add_key_hash::{hash, truncate_location, value_text, ALGORITHMS};
use super::check::{at_run, validate, Check};
use super::value::get_path;
use teraslice_runtime::ops::record::KEY;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

pub struct AddKey;

struct Config {
    key_name: String,
    key_fields: Vec<String>,
    invert_key_fields: bool,
    hash_algorithm: String,
    minimum_field_count: usize,
    preserve_original_key: bool,
    delete_original: bool,
    truncate_location: Vec<String>,
    places: u32,
}

fn parse(c: &mut Check) -> Config {
    let key_name = c.string("key_name", "_key");
    if key_name.is_empty() {
        c.fail("key_name", "must be a non-empty string");
    }
    let key_fields = c.strings("key_fields");
    let invert_key_fields = c.bool("invert_key_fields", false);
    if invert_key_fields && key_fields.is_empty() {
        c.fail(
            "invert_key_fields",
            "needs key_fields: the fields to leave out of the key",
        );
    }
    Config {
        key_name,
        key_fields,
        invert_key_fields,
        hash_algorithm: c.one_of("hash_algorithm", ALGORITHMS, "md5"),
        minimum_field_count: c.int("minimum_field_count", Some(0), 0).unwrap_or(0) as usize,
        preserve_original_key: c.bool("preserve_original_key", false),
        delete_original: c.bool("delete_original", false),
        truncate_location: c.strings("truncate_location"),
        places: u32::try_from(c.int("truncate_location_places", Some(4), 0).unwrap_or(4))
            .unwrap_or(4),
    }
}

impl ProcessorFactory for AddKey {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate(config, parse)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Run(at_run(ctx, parse)?)))
    }
}

struct Run(Config);

impl OperationLifecycle for Run {}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

impl Run {
    /// The fields hashed, in order: `key_fields`, else every top-level key sorted (inverted:
    /// those not listed).
    fn fields(&self, doc: &Value) -> Vec<String> {
        let c = &self.0;
        if !c.key_fields.is_empty() && !c.invert_key_fields {
            return c.key_fields.clone();
        }
        let mut keys: Vec<String> = doc
            .as_object()
            .map(|m| {
                m.keys()
                    .filter(|k| !c.key_fields.contains(k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        keys
    }

    /// The key, or `None` when fewer than `minimum_field_count` fields have values.
    fn key(&self, doc: &Value) -> Option<String> {
        let c = &self.0;
        let mut text = String::new();
        let mut count = 0;
        for f in self.fields(doc) {
            let Some(v) = get_path(doc, &f).filter(|v| !empty(v)) else {
                continue;
            };
            count += 1;
            if c.truncate_location.contains(&f) {
                text.push_str(&value_text(&truncate_location(v, c.places)));
            } else {
                text.push_str(&value_text(v));
            }
        }
        (count >= c.minimum_field_count).then(|| hash(&c.hash_algorithm, &text))
    }
}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let c = &self.0;
        let mut out = Vec::with_capacity(batch.len());
        for mut record in batch {
            let Some(key) = self.key(&record.data) else {
                continue;
            };
            let old = record.get_metadata(KEY).cloned();
            if let (true, Some(old), Value::Object(m)) =
                (c.preserve_original_key, &old, &mut record.data)
            {
                m.insert("_original_key".into(), old.clone());
            }
            if let (true, Some(old)) = (c.delete_original, old) {
                record.set_metadata("_delete_id", old);
            }
            if let Value::Object(m) = &mut record.data {
                m.insert(c.key_name.clone(), Value::String(key.clone()));
            }
            record.set_metadata(c.key_name.clone(), Value::String(key));
            out.push(record);
        }
        Ok(out)
    }
}
