//! `kafka_reader` (teraslice-kafka-s3.md §3): a slicer that hands out empty requests forever and
//! a fetcher per worker that consumes up to `size` messages within `wait` from the consumer
//! group. Offsets are committed (last offset + 1 per partition) only once the EC recorded the
//! slice, or after its last attempt failed; a retry either seeks back (`rollback_on_failure`)
//! or commits and moves on.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{
    DeadLetterQueue, Fetcher, OpContext, OpError, OperationLifecycle, ReaderFactory, Record,
    SliceRequest, Slicer,
};

use super::connector::{self, client_config};
use super::error::KafkaError;
use super::reader_config::ReaderConfig;
use super::reader_metrics::{bytes_consumed, ReaderContext};
use super::sender::{op_error, METADATA_TIMEOUT};
use super::settings::resolve;

/// How long a rollback's seek of one partition may take.
const SEEK_TIMEOUT: Duration = Duration::from_secs(1);

pub struct KafkaReader {
    pub connectors: Arc<Map<String, Value>>,
}

/// The op's reader config.
pub fn config_of(
    op: &Map<String, Value>,
    job: &Value,
) -> Result<ReaderConfig, Vec<ValidationError>> {
    let r = resolve(op, job, &[]).map_err(|message| {
        vec![ValidationError {
            path: "_api_name".into(),
            message,
        }]
    })?;
    let mut map = r.map;
    ReaderConfig::parse(&mut map)
}

impl ReaderFactory for KafkaReader {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        let next = job.pointer("/operations/1/_op").and_then(Value::as_str);
        if next == Some("json_protocol") {
            return vec![ValidationError {
                path: "_op".into(),
                message: "Kafka Reader handles serialization, please remove \"json_protocol\""
                    .into(),
            }];
        }
        if config.contains_key("_api_name") || config.contains_key("api_name") {
            // The api entry is checked by kafka_reader_api itself.
            return Vec::new();
        }
        let mut map = config.clone();
        if let Some(c) = map.shift_remove("connection") {
            map.entry("_connection").or_insert(c);
        }
        match ReaderConfig::parse(&mut map) {
            Ok(_) => {
                *config = map;
                Vec::new()
            }
            Err(e) => e,
        }
    }

    fn slicers(&self, _ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        Ok(vec![Box::new(Forever)])
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        let job = serde_json::to_value(&*ctx.job).unwrap_or(Value::Null);
        let cfg = config_of(&ctx.config.0, &job).map_err(|e| op_error("kafka_reader", &e))?;
        let connector = connector::find(&self.connectors, &cfg.connection)?;
        let mut properties = connector.properties.clone();
        properties.extend(cfg.properties.clone());
        let context = ReaderContext::new(ctx);
        let consumer: StreamConsumer<ReaderContext> = client_config(&properties)
            .create_with_context(context)
            .map_err(|e| {
                KafkaError::Config(format!(
                    "kafka_reader: cannot create a consumer on {}: {e}",
                    connector.source
                ))
            })?;
        Ok(Box::new(KafkaFetcher {
            consumer: Arc::new(consumer),
            brokers: connector.brokers().to_string(),
            source: connector.source,
            cfg,
            bytes_consumed: bytes_consumed(ctx),
            ctx: ctx.clone(),
            started: BTreeMap::new(),
            ended: BTreeMap::new(),
            failed: false,
        }))
    }
}

/// Every request is `{}`: the position lives in the consumer group, not in slices.
struct Forever;

#[async_trait]
impl Slicer for Forever {
    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        Ok(Some(json!({})))
    }
    /// Teraslice's limit: the connected workers + 1.
    fn max_queue_length(&self, workers_connected: usize) -> usize {
        workers_connected.saturating_add(1)
    }
}

struct KafkaFetcher {
    consumer: Arc<StreamConsumer<ReaderContext>>,
    bytes_consumed: teraslice_runtime::metrics::Counter,
    cfg: ReaderConfig,
    ctx: OpContext,
    source: String,
    brokers: String,
    /// First offset seen per partition since the last commit or rollback.
    started: BTreeMap<i32, i64>,
    /// Last offset seen + 1 per partition since then: what a commit writes.
    ended: BTreeMap<i32, i64>,
    /// The current slice failed its last attempt.
    failed: bool,
}

impl KafkaFetcher {
    fn track(&mut self, partition: i32, offset: i64) {
        self.started.entry(partition).or_insert(offset);
        self.ended.insert(partition, offset + 1);
    }

    /// Commits the tracked offsets and forgets them; failures are logged, not returned
    /// (the slice stays as recorded; the next commit covers the partition again).
    async fn commit(&mut self) {
        if self.ended.is_empty() {
            return;
        }
        let mut list = TopicPartitionList::new();
        for (p, o) in &self.ended {
            if let Err(e) = list.add_partition_offset(&self.cfg.topic, *p, Offset::Offset(*o)) {
                tracing::warn!(partition = p, error = %e, "Kafka failed to commit");
            }
        }
        self.started.clear();
        self.ended.clear();
        let mode = if self.cfg.use_commit_sync {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        let consumer = self.consumer.clone();
        let result = tokio::task::spawn_blocking(move || consumer.commit(&list, mode)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(topic = %self.cfg.topic, error = %e, "Kafka failed to commit")
            }
            Err(e) => tracing::warn!(error = %e, "Kafka failed to commit"),
        }
    }

    /// Seeks every partition of this attempt back to its first offset.
    async fn rollback(&mut self) -> Result<(), OpError> {
        let started = std::mem::take(&mut self.started);
        self.ended.clear();
        let consumer = self.consumer.clone();
        let topic = self.cfg.topic.clone();
        let seeks = started.clone();
        let result = tokio::task::spawn_blocking(move || {
            for (p, o) in seeks {
                consumer
                    .seek(&topic, p, Offset::Offset(o), SEEK_TIMEOUT)
                    .map_err(|e| {
                        KafkaError::client(format!("seek of partition {p} to offset {o}"), e)
                    })?;
            }
            Ok::<(), KafkaError>(())
        })
        .await
        .map_err(|e| OpError::new(e.to_string()))?;
        self.started = started;
        result.map_err(OpError::from)
    }

    /// Applies the API's `_dead_letter_action` to an undecodable message.
    fn reject(&self, payload: &str, err: OpError) -> Result<(), OpError> {
        match self.cfg.dead_letter_action.as_str() {
            "throw" => Err(err),
            "none" => Ok(()),
            "log" => {
                tracing::error!(topic = %self.cfg.topic, error = %err, payload, "bad kafka message");
                Ok(())
            }
            api => {
                let dlq = self.ctx.apis.get::<DeadLetterQueue>(api)?;
                (dlq.0)(&Record::new(Value::String(payload.to_string())), &err);
                Ok(())
            }
        }
    }

    /// §3.4: the message as a record, or `None` when it was rejected.
    fn record(&self, m: &rdkafka::message::BorrowedMessage<'_>) -> Result<Option<Record>, OpError> {
        let payload = m.payload().unwrap_or_default();
        let text = String::from_utf8_lossy(payload);
        let parsed = match (self.cfg.raw, m.payload()) {
            (true, _) => Ok(Value::String(text.to_string())),
            (false, None) => Err("message has no payload (tombstone)".to_string()),
            // NULs are stripped as Teraslice does; a copy only when there are any.
            (false, Some(_)) if text.contains('\0') => {
                serde_json::from_str::<Value>(&text.replace('\0', ""))
                    .map_err(|e| format!("invalid JSON: {e}"))
            }
            (false, Some(_)) => {
                serde_json::from_str::<Value>(&text).map_err(|e| format!("invalid JSON: {e}"))
            }
        };
        let data = match parsed {
            Ok(v) => v,
            Err(why) => {
                let err = OpError::new(format!(
                    "kafka_reader: bad message at {}/{}/{}: {why}",
                    m.topic(),
                    m.partition(),
                    m.offset()
                ));
                self.reject(&text, err)?;
                return Ok(None);
            }
        };
        let now = chrono::Utc::now().timestamp_millis();
        let mut r = Record::new(data);
        if let Some(k) = m.key() {
            r.set_key(String::from_utf8_lossy(k));
        }
        let ingest = m.timestamp().to_millis().filter(|t| *t > 0).unwrap_or(now);
        r.set_metadata("_ingestTime", json!(ingest));
        r.set_metadata("_processTime", json!(now));
        r.set_metadata("_eventTime", json!(now));
        r.set_metadata("topic", json!(m.topic()));
        r.set_metadata("partition", json!(m.partition()));
        r.set_metadata("offset", json!(m.offset()));
        r.set_metadata("size", json!(payload.len()));
        Ok(Some(r))
    }
}

#[async_trait]
impl OperationLifecycle for KafkaFetcher {
    async fn initialize(&mut self) -> Result<(), OpError> {
        let consumer = self.consumer.clone();
        let topic = self.cfg.topic.clone();
        let meta = tokio::task::spawn_blocking(move || {
            consumer.fetch_metadata(Some(&topic), METADATA_TIMEOUT)
        })
        .await
        .map_err(|e| OpError::new(e.to_string()))?;
        meta.map_err(|e| {
            OpError::non_retryable(format!(
                "kafka_reader: brokers of {} ({}) did not answer a metadata request for topic {}: {e}",
                self.source, self.brokers, self.cfg.topic
            ))
        })?;
        self.consumer
            .subscribe(&[&self.cfg.topic])
            .map_err(|e| KafkaError::client(format!("subscribe to {}", self.cfg.topic), e).into())
    }

    async fn on_slice_failed(&mut self, _slice_id: &str) -> Result<(), OpError> {
        self.failed = true;
        Ok(())
    }

    /// After the last attempt failed: commit and skip its records (§3.6).
    async fn on_slice_finalizing(&mut self, _slice_id: &str) -> Result<(), OpError> {
        if std::mem::take(&mut self.failed) {
            self.commit().await;
        }
        Ok(())
    }

    /// The EC recorded the slice as completed: its records are safe, commit them.
    async fn on_slice_finished(&mut self, _slice_id: &str) -> Result<(), OpError> {
        self.commit().await;
        Ok(())
    }

    async fn on_slice_retry(&mut self, _slice_id: &str) -> Result<(), OpError> {
        if self.cfg.rollback_on_failure {
            self.rollback().await
        } else {
            tracing::warn!(topic = %self.cfg.topic, "committing kafka offsets on slice retry - THIS MAY CAUSE DATA LOSS");
            self.commit().await;
            Ok(())
        }
    }
}

#[async_trait]
impl Fetcher for KafkaFetcher {
    async fn fetch(&mut self, _request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        let deadline = Instant::now() + Duration::from_millis(self.cfg.wait_ms);
        let mut out = Vec::new();
        let mut bytes = 0u64;
        while out.len() < self.cfg.size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let consumer = self.consumer.clone();
            let message = match tokio::time::timeout(left, consumer.recv()).await {
                Err(_) => break,
                Ok(Err(RdError::PartitionEOF(_))) => continue,
                Ok(Err(e)) => return Err(KafkaError::client("consume", e).into()),
                Ok(Ok(m)) => m,
            };
            // Tracked before decoding: a rejected message counts as consumed.
            self.track(message.partition(), message.offset());
            bytes += message.payload_len() as u64;
            if let Some(r) = self.record(&message)? {
                out.push(r);
            }
        }
        self.bytes_consumed.inc_by(bytes);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slices_are_empty_requests_forever_queued_one_more_than_the_workers() {
        let mut s = Forever;
        for _ in 0..3 {
            assert_eq!(s.slice().await, Ok(Some(json!({}))));
        }
        assert_eq!((s.max_queue_length(0), s.max_queue_length(4)), (1, 5));
    }
}
