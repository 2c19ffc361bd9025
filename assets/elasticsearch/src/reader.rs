//! `elasticsearch_reader` and `id_reader`: the factory (settings from either job layout), and the
//! fetcher shared by both (teraslice-assets.md §3.7).
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use teraslice_core::job::{Lifecycle, ValidationError};
use tokio::sync::OnceCell;

use super::client::EsClient;
use super::connection;
use super::date_slicer::DateSlicer;
use super::id_slicer::IdSlicer;
use super::layout::{self, job_facts, OpKind, READER_API};
use super::plan::Shared;
use super::query::{self, Scope};
use super::reader_config::ReaderConfig;
use teraslice_runtime::ops::record::{EVENT_TIME, INGEST_TIME, PROCESS_TIME};
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OperationLifecycle, ReaderFactory, Record, SliceRequest, Slicer,
};

/// `elasticsearch_reader` (`by_id: false`) or `id_reader` (`by_id: true`).
pub struct EsReader {
    pub connectors: Arc<Map<String, Value>>,
    pub by_id: bool,
}

impl EsReader {
    fn name(&self) -> &'static str {
        if self.by_id {
            "id_reader"
        } else {
            "elasticsearch_reader"
        }
    }

    /// The op's settings, checked, in either layout; errors carry op-relative paths for the legacy
    /// layout and say which apis entry field is wrong for the current one.
    /// `api_errors: false` leaves out problems of the apis entry itself (reported at the entry).
    fn settings(
        &self,
        op: &Map<String, Value>,
        job: &Value,
        api_errors: bool,
    ) -> Result<(ReaderConfig, Map<String, Value>), Vec<ValidationError>> {
        let s = layout::resolve(op, job.get("apis"), OpKind::Reader)?;
        let mut map = s.map;
        let named = s.api_name.clone();
        let prefix = |errors: Vec<ValidationError>| match &named {
            None => errors,
            Some(name) => errors
                .into_iter()
                .map(|e| ValidationError {
                    path: "_api_name".into(),
                    message: format!("apis entry \"{name}\": {}: {}", e.path, e.message),
                })
                .collect(),
        };
        let cfg = match ReaderConfig::parse(&mut map, job) {
            Ok(cfg) => cfg,
            Err(_) if named.is_some() && !api_errors => return Err(Vec::new()),
            Err(errors) => return Err(prefix(errors)),
        };
        let mut errors = Vec::new();
        if self.by_id {
            if named.as_deref().is_some_and(|n| n != READER_API) {
                tracing::info!(
                    "id_reader: using api \"{}\" (Teraslice requires the exact name {READER_API})",
                    named.as_deref().unwrap_or("")
                );
            }
            if cfg.id_field_name.is_none() {
                errors.push((
                    "id_field_name",
                    "is required by id_reader: the keyword field whose prefixes slice the index"
                        .to_string(),
                ));
            }
            let slicers = job.get("slicers").and_then(Value::as_u64).unwrap_or(1);
            let roots = cfg
                .key_range
                .as_ref()
                .map_or(cfg.key_type.alphabet().len(), Vec::len) as u64;
            if slicers > roots {
                errors.push(("key_type", format!("gives {roots} root keys but the job has {slicers} slicers: use at most {roots} slicers or a longer key_range")));
            }
        } else if cfg.date_field_name.is_none() {
            errors.push((
                "date_field_name",
                "is required by elasticsearch_reader: the date field to slice on".to_string(),
            ));
        }
        let errors = errors
            .into_iter()
            .map(|(path, message)| ValidationError {
                path: path.into(),
                message,
            })
            .collect::<Vec<_>>();
        if !errors.is_empty() {
            return Err(prefix(errors));
        }
        Ok((cfg, map))
    }

    fn shared(&self, ctx: &OpContext) -> Result<Arc<Shared>, OpError> {
        let job = job_facts(&ctx.job);
        let (cfg, _) = self.settings(&ctx.config.0, &job, true).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            OpError::non_retryable(format!("{}: {}", self.name(), list.join("; ")))
        })?;
        let conn = connection::find(&self.connectors, &cfg.connection)?;
        Ok(Arc::new(Shared {
            client: EsClient::new(conn)?,
            cfg,
            slicers: usize::try_from(ctx.job.slicers.max(1)).unwrap_or(1),
            persistent: ctx.job.lifecycle == Lifecycle::Persistent,
            created: chrono::Utc::now().timestamp_millis(),
            plan: OnceCell::new(),
        }))
    }
}

impl ReaderFactory for EsReader {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        if let Some(e) = super::connection::check_legacy(&self.connectors, config) {
            return vec![e];
        }
        match self.settings(config, job, false) {
            // Legacy layout: the op shows its full settings with defaults.
            Ok((_, map)) if config.get("_api_name").or(config.get("api_name")).is_none() => {
                for (k, v) in map {
                    config.insert(k, v);
                }
                config.shift_remove("connection");
                config.shift_remove("field");
                Vec::new()
            }
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        }
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let shared = self.shared(ctx)?;
        Ok((0..shared.slicers)
            .map(|i| -> Box<dyn Slicer> {
                if self.by_id {
                    Box::new(IdSlicer::new(shared.clone(), i))
                } else {
                    Box::new(DateSlicer::new(shared.clone(), i))
                }
            })
            .collect())
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        Ok(Box::new(EsFetcher {
            shared: self.shared(ctx)?,
            window: None,
            read: ctx.metrics().counter(
                "elasticsearch_records_read",
                "Records read from elasticsearch",
                &[],
            ),
        }))
    }
}

struct EsFetcher {
    shared: Arc<Shared>,
    window: Option<u64>,
    read: teraslice_runtime::metrics::Counter,
}

impl OperationLifecycle for EsFetcher {}

fn bad_request(request: &SliceRequest) -> OpError {
    OpError::non_retryable(format!(
        "elasticsearch reader: a slice request must be {{start, end, count}} and/or {{keys: [..], count}}, got {request}"
    ))
}

#[async_trait]
impl Fetcher for EsFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        if request.is_null() {
            return Ok(Vec::new());
        }
        let cfg = &self.shared.cfg;
        let client = &self.shared.client;
        let window = match self.window {
            Some(w) => w,
            None => *self
                .window
                .insert(client.max_result_window(&cfg.index).await?),
        };
        let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::to_string);
        let range = match (text("start"), text("end")) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) => None,
            _ => return Err(bad_request(request)),
        };
        let keys: Vec<String> = match request.get("keys") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .and_then(|a| a.iter().map(|k| k.as_str().map(str::to_string)).collect())
                .ok_or_else(|| bad_request(request))?,
        };
        if range.is_none() && keys.is_empty() {
            return Err(bad_request(request));
        }
        let scope = Scope { range, keys };
        let count = request.get("count").and_then(Value::as_u64).unwrap_or(0);
        // Room for documents written after the count; a slice without a count asks for `size`.
        let mut size = match (cfg.use_simple_fetch, count) {
            (true, _) => window,
            (false, 0) => cfg.size,
            (false, c) => (c as f64 * 1.5).ceil() as u64,
        }
        .min(window);
        loop {
            // total_optimization: totals exact only as far as needed to see an overflow.
            let track = if cfg.total_optimization {
                json!(size + 1)
            } else {
                json!(true)
            };
            let mut body = json!({"query": query::build(cfg, &scope), "size": size, "track_total_hits": track});
            if let (Some(fields), Some(obj)) = (&cfg.fields, body.as_object_mut()) {
                obj.insert("_source".into(), json!(fields));
            }
            if let (Some(sort), Some(obj)) = (query::geo_sort(cfg), body.as_object_mut()) {
                obj.insert("sort".into(), sort);
            }
            let answer = client.search(&cfg.index, body).await?;
            let hits = answer
                .pointer("/hits/hits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = answer
                .pointer("/hits/total/value")
                .or_else(|| answer.pointer("/hits/total"))
                .and_then(Value::as_u64)
                .unwrap_or(hits.len() as u64);
            if total > hits.len() as u64 && !cfg.use_simple_fetch {
                if total > window || size >= window {
                    return Err(OpError::non_retryable(format!(
                        "slice {request} matches {total} documents, more than index.max_result_window {window} of {}: lower size",
                        cfg.index
                    )));
                }
                size = total.min(window);
                continue;
            }
            tracing::debug!(records = hits.len(), "elasticsearch_records_read");
            self.read.inc_by(hits.len() as u64);
            return Ok(hits.into_iter().map(to_record).collect());
        }
    }
}

/// A hit as a record: `_source` with `_key`, `_index`, `_type`, times and versions as metadata.
fn to_record(hit: Value) -> Record {
    let mut hit = match hit {
        Value::Object(m) => m,
        other => return Record::new(other),
    };
    let mut r = Record::new(
        hit.shift_remove("_source")
            .unwrap_or(Value::Object(Map::new())),
    );
    if let Some(id) = hit.get("_id").and_then(Value::as_str) {
        r.set_key(id);
    }
    for key in ["_index", "_type", "_version", "_seq_no", "_primary_term"] {
        if let Some(v) = hit.shift_remove(key) {
            r.set_metadata(key, v);
        }
    }
    let now = Value::from(chrono::Utc::now().timestamp_millis());
    for key in [PROCESS_TIME, INGEST_TIME, EVENT_TIME] {
        r.set_metadata(key, now.clone());
    }
    r
}
