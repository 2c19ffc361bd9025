//! `elasticsearch_bulk` (teraslice-assets.md §5): writes each slice with `_bulk` requests of at
//! most `size` actions, sent concurrently; rejected items are re-sent, documents that exist or
//! are missing are not errors, anything else fails the slice or goes to `_dead_letter_action`.
//! Every `index`/`create` action carries an id (the record's key, else one made here), so the
//! client's retry of a `_bulk` whose answer was lost cannot duplicate documents.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_es::Backoff;

use super::client::{is_retryable_kind, EsClient};
use super::connection;
use super::layout::{self, job_facts, OpKind};
use super::sender_config::{Action, SenderConfig};
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

/// Re-sends of rejected (429) items before the slice fails (Teraslice retries forever).
const MAX_ITEM_RETRIES: u32 = 10;
/// Pauses before those re-sends (with jitter).
const ITEM_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(250),
    max: Duration::from_secs(10),
    user: "elasticsearch_bulk",
};

pub struct EsBulk {
    pub connectors: Arc<Map<String, Value>>,
}

/// The sender's config, the apis entry it came from (`None` = legacy), and the filled settings.
type Resolved = (SenderConfig, Option<String>, Map<String, Value>);

fn settings(op: &Map<String, Value>, job: &Value) -> Result<Resolved, Vec<ValidationError>> {
    let s = layout::resolve(op, job.get("apis"), OpKind::Sender)?;
    let mut map = s.map;
    let cfg = SenderConfig::parse(&mut map)?;
    Ok((cfg, s.api_name, map))
}

impl ProcessorFactory for EsBulk {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        if let Some(e) = super::connection::check_legacy(&self.connectors, config) {
            return vec![e];
        }
        match settings(config, job) {
            Ok((_, None, map)) => {
                for (k, v) in map {
                    config.insert(k, v);
                }
                config.shift_remove("connection");
                Vec::new()
            }
            Ok(_) => Vec::new(),
            // Current layout: problems of the entry itself are reported at the entry; the op
            // reports those of the keys it overrides.
            Err(errors) if config.contains_key("_api_name") || config.contains_key("api_name") => {
                errors
                    .into_iter()
                    .filter(|e| {
                        config.contains_key(&e.path)
                            || e.path == "_api_name"
                            || e.path == "api_name"
                    })
                    .collect()
            }
            Err(errors) => errors,
        }
    }

    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let (cfg, _, _) = settings(&ctx.config.0, &job_facts(&ctx.job)).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            OpError::non_retryable(format!("elasticsearch_bulk: {}", list.join("; ")))
        })?;
        let client = EsClient::new(connection::find(&self.connectors, &cfg.connection)?)?;
        let throw = ctx
            .config
            .get("_dead_letter_action")
            .and_then(Value::as_str)
            .is_none_or(|a| a == "throw");
        Ok(Box::new(BulkSender {
            cfg,
            client,
            ctx: ctx.clone(),
            throw,
        }))
    }
}

struct BulkSender {
    cfg: SenderConfig,
    client: EsClient,
    ctx: OpContext,
    throw: bool,
}

impl OperationLifecycle for BulkSender {}

/// One bulk action (metadata line plus optional body line) and the record it came from.
struct Item {
    record: usize,
    lines: String,
}

impl BulkSender {
    /// Sends `items`; returns the indices (into `items`) to re-send, or the first hard error.
    async fn send(&self, items: &[&Item], batch: &[Record]) -> Result<Vec<usize>, OpError> {
        let body: String = items.iter().map(|i| i.lines.as_str()).collect();
        let answer = self.client.bulk(body).await?;
        if answer.get("errors").and_then(Value::as_bool) != Some(true) {
            return Ok(Vec::new());
        }
        let results = answer
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut retry = Vec::new();
        for (n, result) in results.iter().enumerate() {
            let Some(detail) = result.as_object().and_then(|o| o.values().next()) else {
                continue;
            };
            let status = detail.get("status").and_then(Value::as_u64).unwrap_or(0);
            let kind = detail
                .pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("");
            let reason = detail
                .pointer("/error/reason")
                .and_then(Value::as_str)
                .unwrap_or("");
            if detail.get("error").is_none() || status == 409 {
                continue;
            }
            if status == 429 || is_retryable_kind(kind, reason) {
                retry.push(n);
                continue;
            }
            if matches!(
                kind,
                "document_already_exists_exception" | "document_missing_exception"
            ) {
                continue;
            }
            let err = OpError::non_retryable(format!("bulk send error: {kind}--{reason}"));
            let Some(item) = items.get(n) else { continue };
            if self.throw {
                return Err(err);
            }
            if let Some(record) = batch.get(item.record) {
                let mut rejected = record.clone();
                rejected.set_metadata("_bulk_sender_rejection", json!(format!("{kind}--{reason}")));
                self.ctx.reject_record(&rejected, err)?;
            }
        }
        Ok(retry)
    }

    /// Sends one chunk, re-sending rejected items with backoff.
    async fn send_chunk(&self, chunk: &[Item], batch: &[Record]) -> Result<(), OpError> {
        let mut pending: Vec<&Item> = chunk.iter().collect();
        let mut delays = ITEM_BACKOFF.delays();
        for attempt in 0..=MAX_ITEM_RETRIES {
            let retry = self.send(&pending, batch).await?;
            if retry.is_empty() {
                return Ok(());
            }
            pending = retry
                .into_iter()
                .filter_map(|i| pending.get(i).copied())
                .collect();
            tracing::warn!(
                items = pending.len(),
                attempt,
                "bulk items rejected by the server; re-sending"
            );
            tokio::time::sleep(delays.next().unwrap_or(ITEM_BACKOFF.max)).await;
        }
        Err(OpError::new(format!(
            "bulk send error: {} items still rejected (429) after {MAX_ITEM_RETRIES} re-sends",
            pending.len()
        )))
    }
}

#[async_trait]
impl BatchProcessor for BulkSender {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        if batch.is_empty() {
            return Ok(batch);
        }
        let items = items(&self.cfg, &batch);
        let size = usize::try_from(self.cfg.size).unwrap_or(usize::MAX).max(1);
        let sends = items
            .chunks(size)
            .map(|chunk| self.send_chunk(chunk, &batch));
        for result in futures::future::join_all(sends).await {
            result?;
        }
        tracing::debug!(records = batch.len(), index = %self.cfg.index, "elasticsearch_records_written");
        let written = "Records written to elasticsearch";
        (self
            .ctx
            .metrics()
            .counter("elasticsearch_records_written", written, &[]))
        .inc_by(batch.len() as u64);
        Ok(batch)
    }
}

/// The bulk actions of a batch, in order.
fn items(cfg: &SenderConfig, batch: &[Record]) -> Vec<Item> {
    let mut out = Vec::with_capacity(batch.len());
    for (i, r) in batch.iter().enumerate() {
        let mut meta = Map::new();
        meta.insert("_index".into(), json!(cfg.index));
        match r.key().filter(|k| !k.is_empty()) {
            Some(key) => {
                meta.insert("_id".into(), json!(key));
            }
            // A document without a key gets its id here, before the first try: a `_bulk` sent
            // again after a lost answer (5xx, timeout) then rewrites the same documents
            // instead of adding copies under new server-made ids.
            None if matches!(cfg.action, Action::Index | Action::Create) => {
                meta.insert("_id".into(), json!(new_document_id()));
            }
            None => {}
        }
        if cfg.retry_on_conflict > 0 {
            meta.insert("retry_on_conflict".into(), json!(cfg.retry_on_conflict));
        }
        let (action, body) = match cfg.action {
            Action::Index => ("index", Some(r.data.clone())),
            Action::Create => ("create", Some(r.data.clone())),
            Action::Delete => ("delete", None),
            Action::Update | Action::Upsert => {
                let mut body = update_body(cfg, &r.data);
                if let (Action::Upsert, Some(obj)) = (cfg.action, body.as_object_mut()) {
                    obj.insert("upsert".into(), r.data.clone());
                }
                ("update", Some(body))
            }
        };
        let mut lines = json!({ action: meta }).to_string();
        lines.push('\n');
        if let Some(b) = body {
            lines.push_str(&b.to_string());
            lines.push('\n');
        }
        out.push(Item { record: i, lines });
        // Re-key and delete the old document in one pass.
        if let Some(old) = r.get_metadata("_delete_id").and_then(Value::as_str) {
            let line = json!({"delete": {"_index": cfg.index, "_id": old}});
            out.push(Item {
                record: i,
                lines: format!("{line}\n"),
            });
        }
    }
    out
}

/// A random document id in the shape of the server's own (URL-safe base64, 22 characters).
fn new_document_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn update_body(cfg: &SenderConfig, data: &Value) -> Value {
    if !cfg.update_fields.is_empty() {
        let doc: Map<String, Value> = cfg
            .update_fields
            .iter()
            .filter_map(|f| data.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        return json!({ "doc": doc });
    }
    if !cfg.script.is_empty() || !cfg.script_file.is_empty() {
        // Every present value is passed, falsy ones (0, false, "") included.
        let params: Map<String, Value> = cfg
            .script_params
            .iter()
            .filter_map(|(p, f)| data.get(f).map(|v| (p.clone(), v.clone())))
            .collect();
        let mut script = json!({ "params": params });
        if let Some(obj) = script.as_object_mut() {
            if cfg.script.is_empty() {
                obj.insert("id".into(), json!(cfg.script_file));
            } else {
                obj.insert("source".into(), json!(cfg.script));
            }
        }
        return json!({ "script": script });
    }
    json!({ "doc": data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(extra: Value, batch: &[Record]) -> Vec<Value> {
        let mut cfg = json!({"index": "out"});
        if let (Some(c), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        let mut map = cfg.as_object().cloned().unwrap_or_default();
        let cfg = match SenderConfig::parse(&mut map) {
            Ok(c) => c,
            Err(e) => panic!("config: {e:?}"),
        };
        items(&cfg, batch)
            .iter()
            .flat_map(|i| {
                i.lines
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn action_lines_follow_the_config() {
        let r = Record::with_key(json!({"a": 1, "b": 0}), "k1");
        assert_eq!(
            lines(
                json!({"upsert": true, "update_fields": ["b"], "update_retry_on_conflict": 3}),
                std::slice::from_ref(&r)
            ),
            [
                json!({"update": {"_index": "out", "_id": "k1", "retry_on_conflict": 3}}),
                json!({"doc": {"b": 0}, "upsert": {"a": 1, "b": 0}})
            ]
        );
        assert_eq!(
            lines(
                json!({"update": true, "script_file": "stored", "script_params": {"x": "b"}}),
                std::slice::from_ref(&r)
            )[1],
            json!({"script": {"id": "stored", "params": {"x": 0}}})
        );
        let mut moved = Record::new(json!({"a": 2}));
        moved.set_metadata("_delete_id", json!("old"));
        let mut created = lines(json!({"create": true}), &[moved]);
        // A keyless document gets an id of its own before the first try.
        let id = created[0]
            .get_mut("create")
            .and_then(Value::as_object_mut)
            .and_then(|meta| meta.shift_remove("_id"))
            .unwrap_or_default();
        assert!(id.as_str().is_some_and(|id| id.len() == 22), "{id}");
        assert_eq!(
            created,
            [
                json!({"create": {"_index": "out"}}),
                json!({"a": 2}),
                json!({"delete": {"_index": "out", "_id": "old"}})
            ]
        );
        assert_eq!(
            lines(json!({"delete": true}), &[r]),
            [json!({"delete": {"_index": "out", "_id": "k1"}})]
        );
    }
}
