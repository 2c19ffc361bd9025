//! `s3_exporter`: writes each slice's records as one object per slice (and route):
//! `<prefix>[<route>/]<worker>.<n><ext>`, n counting this worker's slices from 0, `ext` the
//! `extension` setting or `.<format>` (none for raw) plus `.gz` / `.lz4`. Empty slices write
//! nothing. A missing bucket is created at start (Teraslice's "ensure bucket").
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use object_store::path::Path;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

use super::{resolve, Resolved};
use crate::file_format::{encode_batch, header_line, validate_op_for, Format, Side, Store};

/// The metadata key Teraslice's routers set.
const ROUTE: &str = "standard:route";

pub struct S3Exporter {
    pub connectors: Arc<Map<String, Value>>,
}

impl ProcessorFactory for S3Exporter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        if config.contains_key("_api_name") || config.contains_key("api_name") {
            validate_op_for(config, Side::Sender, Store::S3)
        } else {
            super::check(config, Side::Sender)
        }
    }

    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let r = resolve(ctx, Side::Sender, &self.connectors)?;
        let worker = crate::file_format::key_safe_worker_id(ctx, "-_");
        let ext = extension(&r);
        Ok(Box::new(Exporter {
            r,
            worker,
            ext,
            slices: 0,
            columns: Vec::new(),
        }))
    }
}

/// The object name suffix: `extension` (a leading `.` added), else `.<format>` + compression.
fn extension(r: &Resolved) -> String {
    let cfg = &r.cfg;
    if !cfg.extension.is_empty() {
        return if cfg.extension.starts_with('.') {
            cfg.extension.clone()
        } else {
            format!(".{}", cfg.extension)
        };
    }
    let format = match cfg.format {
        Format::Ldjson => ".ldjson",
        Format::Json => ".json",
        Format::Csv => ".csv",
        Format::Tsv => ".tsv",
        Format::Raw => "",
    };
    format!("{format}{}", cfg.compression.suffix())
}

struct Exporter {
    r: Resolved,
    worker: String,
    ext: String,
    /// Slices seen by this exporter (the `<n>` of the next object).
    slices: u64,
    /// csv/tsv columns: `fields`, else the first record's keys (kept for every later slice).
    columns: Vec<String>,
}

impl Exporter {
    fn failed(&self, key: &str, e: impl std::fmt::Display) -> OpError {
        OpError::new(format!(
            "s3_exporter: cannot write s3://{}/{key} through {}: {e}",
            self.r.bucket, self.r.source
        ))
    }

    fn columns(&mut self, batch: &[Record]) -> Vec<String> {
        if !self.r.cfg.fields.is_empty() {
            return self.r.cfg.fields.clone();
        }
        if matches!(self.r.cfg.format, Format::Csv | Format::Tsv) && self.columns.is_empty() {
            if let Some(Value::Object(m)) = batch.first().map(|r| &r.data) {
                self.columns = m.keys().cloned().collect();
            }
        }
        self.columns.clone()
    }

    /// The record's route (`""` for none); a route may not climb out of the prefix.
    fn route_of(record: &Record) -> Result<&str, OpError> {
        let route = record
            .get_metadata(ROUTE)
            .and_then(Value::as_str)
            .unwrap_or("");
        if !route.is_empty()
            && route
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(OpError::non_retryable(format!(
                "s3_exporter: metadata {ROUTE} must be a relative key prefix without \".\", \"..\" or empty segments, got \"{route}\""
            )));
        }
        Ok(route)
    }
}

#[async_trait]
impl OperationLifecycle for Exporter {
    async fn initialize(&mut self) -> Result<(), OpError> {
        // Teraslice's "ensure bucket": one listing page, and on any error CreateBucket.
        let prefix = Path::from(self.r.prefix.as_str());
        let mut listing = self
            .r
            .store
            .list((!self.r.prefix.is_empty()).then_some(&prefix));
        let Some(Err(listed)) = listing.next().await else {
            return Ok(());
        };
        drop(listing);
        match self.r.connector.create_bucket(&self.r.bucket).await {
            Ok(()) => {
                tracing::info!(bucket = %self.r.bucket, source = %self.r.source, "s3_exporter: created the bucket");
                Ok(())
            }
            Err(created) => Err(OpError::non_retryable(format!(
                "s3_exporter: failure to setup bucket \"{}\" through {}: listing it failed ({listed}), and creating it failed ({created})",
                self.r.bucket, self.r.source
            ))),
        }
    }
}

#[async_trait]
impl BatchProcessor for Exporter {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let n = self.slices;
        self.slices += 1;
        let columns = self.columns(&batch);
        let mut by_route: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
        for r in &batch {
            by_route.entry(Self::route_of(r)?).or_default().push(r);
        }
        let cfg = &self.r.cfg;
        let csv = matches!(cfg.format, Format::Csv | Format::Tsv);
        let header = (csv && cfg.include_header).then(|| header_line(cfg, &columns));
        for (route, records) in by_route {
            let dir = if route.is_empty() {
                String::new()
            } else {
                format!("{route}/")
            };
            let key = format!("{}{dir}{}.{n}{}", self.r.prefix, self.worker, self.ext);
            let encoded = encode_batch(cfg, &records, &columns)
                .map_err(|e| OpError::non_retryable(format!("s3_exporter: {e}")))?;
            let body = match &header {
                Some(h) => [h.as_bytes(), &encoded].concat(),
                None => encoded,
            };
            let body = cfg
                .compression
                .compress(body)
                .map_err(|e| self.failed(&key, e))?;
            let path = Path::from(key.as_str());
            super::upload::put_object(&*self.r.store, &path, body, super::upload::PART_SIZE)
                .await
                .map_err(|e| self.failed(&key, e))?;
            tracing::debug!(bucket = %self.r.bucket, key = %key, records = records.len(), "s3_exporter: wrote slice");
        }
        Ok(batch)
    }
}
