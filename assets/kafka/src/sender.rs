//! `kafka_sender` (teraslice-kafka-s3.md §5): produces every record of the slice as JSON, keyed by
//! `id_field` (or `_key`), to the API's topic (`<topic>-<route>` for routed senders), and returns
//! the slice once every message is acknowledged by the broker (`required_acks`).
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

use super::connector::{self, client_config};
use super::error::KafkaError;
use super::sender_config::{Backpressure, SenderConfig};
use super::settings::resolve;

/// How long the topic check at init waits for the brokers before the op fails.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a flush at a slice's end (or threshold) may take; Teraslice's is 60 s too.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// Metadata requests while a topic is being auto-created, and the pause between them.
const CREATE_CHECKS: u32 = 20;
const CREATE_PAUSE: Duration = Duration::from_millis(250);
/// The op-level key `routed_sender` sets: `*`/`**` = the base topic (`**` routes each record by
/// its `standard:route`), anything else = `<topic>-<key>`.
pub const ROUTE_KEY: &str = "_key";
/// The metadata key the standard routers write.
const ROUTE: &str = "standard:route";

pub struct KafkaSender {
    pub connectors: Arc<Map<String, Value>>,
}

/// The op's sender config.
pub fn config_of(
    op: &Map<String, Value>,
    job: &Value,
) -> Result<SenderConfig, Vec<ValidationError>> {
    let r = resolve(op, job, &["topic"]).map_err(|message| {
        vec![ValidationError {
            path: "_api_name".into(),
            message,
        }]
    })?;
    let mut map = r.map;
    SenderConfig::parse(&mut map)
}

/// A validation error list as one op error.
pub fn op_error(op: &str, errors: &[ValidationError]) -> OpError {
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    OpError::non_retryable(format!("{op}: {}", list.join("; ")))
}

impl ProcessorFactory for KafkaSender {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        if config.contains_key("_api_name") || config.contains_key("api_name") {
            // The api entry is checked by kafka_sender_api itself.
            return Vec::new();
        }
        let mut map = config.clone();
        if let Some(c) = map.shift_remove("connection") {
            map.entry("_connection").or_insert(c);
        }
        match SenderConfig::parse(&mut map) {
            Ok(_) => {
                *config = map;
                Vec::new()
            }
            Err(e) => e,
        }
    }

    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let job = serde_json::to_value(&*ctx.job).unwrap_or(Value::Null);
        let cfg = config_of(&ctx.config.0, &job).map_err(|e| op_error("kafka_sender", &e))?;
        let route_key = ctx
            .config
            .get(ROUTE_KEY)
            .and_then(Value::as_str)
            .unwrap_or("*")
            .to_string();
        Ok(Box::new(Sender::new(&self.connectors, cfg, route_key)?))
    }
}

/// One producer and where it sends.
pub struct Sender {
    cfg: SenderConfig,
    producer: FutureProducer,
    /// The instance topic: the base topic, or `<topic>-<key>`.
    topic: String,
    /// `**`: each record goes to `<topic>-<its route>`.
    dynamic: bool,
    source: String,
    brokers: String,
}

impl Sender {
    pub fn new(
        connectors: &Map<String, Value>,
        cfg: SenderConfig,
        route_key: String,
    ) -> Result<Sender, OpError> {
        let connector = connector::find(connectors, &cfg.connection)?;
        let mut properties = connector.properties.clone();
        properties.extend(cfg.properties.clone());
        let producer: FutureProducer = client_config(&properties).create().map_err(|e| {
            KafkaError::Config(format!(
                "kafka_sender: cannot create a producer on {}: {e}",
                connector.source
            ))
        })?;
        let topic = match route_key.as_str() {
            "*" | "**" => cfg.topic.clone(),
            key => format!("{}-{key}", cfg.topic),
        };
        Ok(Sender {
            dynamic: route_key == "**",
            topic,
            cfg,
            producer,
            brokers: connector.brokers().to_string(),
            source: connector.source,
        })
    }

    /// The topic exists (or was auto-created by the metadata request) and the brokers answer.
    /// A topic being auto-created shows no partitions at first: asked again for a while.
    async fn verify(&self, topic: &str) -> Result<(), OpError> {
        for _ in 0..CREATE_CHECKS {
            let producer = self.producer.clone();
            let t = topic.to_string();
            let meta = tokio::task::spawn_blocking(move || {
                producer.client().fetch_metadata(Some(&t), METADATA_TIMEOUT)
            })
            .await
            .map_err(|e| OpError::new(e.to_string()))?;
            let meta = meta.map_err(|e| {
                OpError::non_retryable(format!(
                    "kafka_sender: brokers of {} ({}) did not answer a metadata request for topic {topic}: {e}",
                    self.source, self.brokers
                ))
            })?;
            let found = meta
                .topics()
                .iter()
                .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
            if found {
                return Ok(());
            }
            tokio::time::sleep(CREATE_PAUSE).await;
        }
        Err(OpError::non_retryable(format!(
            "Topic {topic} does not exist and could not be created."
        )))
    }

    /// Produces `batch`, waiting for every delivery report; the first failed one fails the send.
    pub async fn send(&self, batch: &[Record]) -> Result<(), OpError> {
        let mut pending: Vec<DeliveryFuture> = Vec::new();
        let mut bytes = 0u64;
        let now = chrono::Utc::now().timestamp_millis();
        for (i, record) in batch.iter().enumerate() {
            let value = record.data.to_string();
            let key = key_of(&self.cfg, record);
            let timestamp = timestamp_of(&self.cfg, record, now);
            let topic = match (self.dynamic, route_of(record)) {
                (true, Some(route)) => format!("{}-{route}", self.cfg.topic),
                _ => self.topic.clone(),
            };
            let limit = self.cfg.max_buffer_kbytes_size * 1024;
            bytes += value.len() as u64;
            if limit > 0 && bytes >= limit {
                settle(&self.producer, &mut pending).await?;
                bytes = value.len() as u64;
            }
            let mut message = FutureRecord::to(&topic).payload(&value);
            if let Some(k) = &key {
                message = message.key(k);
            }
            if let Some(t) = timestamp {
                message = message.timestamp(t);
            }
            let mut delay = Duration::from_millis(10);
            loop {
                match self.producer.send_result(message) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        message = back;
                        // Wait for the queue to drain rather than failing the slice.
                        if pending.is_empty() || self.cfg.backpressure == Backpressure::RetryOnFull
                        {
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(1));
                        } else {
                            settle(&self.producer, &mut pending).await?;
                        }
                    }
                    Err((e, _)) => return Err(KafkaError::client("produce", e).into()),
                }
            }
            if self.cfg.max_buffer_size > 0
                && (i as u64 + 1).is_multiple_of(self.cfg.max_buffer_size)
            {
                settle(&self.producer, &mut pending).await?;
            }
        }
        settle(&self.producer, &mut pending).await
    }
}

/// Flushes `producer` as Teraslice does after a slice (and at each threshold), then waits for the
/// delivery reports of `pending`. Without the flush the slice's last, partly filled batch would
/// wait out `wait` (`queue.buffering.max.ms`, 500 ms by default) before it is sent.
async fn settle(
    producer: &FutureProducer,
    pending: &mut Vec<DeliveryFuture>,
) -> Result<(), OpError> {
    if pending.is_empty() {
        return Ok(());
    }
    let producer = producer.clone();
    let flushed = tokio::task::spawn_blocking(move || flush(&producer)).await;
    if let Ok(Err(code)) = flushed {
        // Teraslice treats a timed-out flush as success; the delivery reports below decide.
        tracing::warn!(error = %code, "kafka_sender: flush did not finish");
    }
    for result in futures::future::join_all(pending.drain(..)).await {
        match result {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => {
                return Err(KafkaError::client("produce (delivery report)", e).into())
            }
            Err(_) => {
                return Err(OpError::new(
                    "kafka_sender: the producer dropped a delivery report",
                ))
            }
        }
    }
    Ok(())
}

/// `rd_kafka_flush` with one deadline. rdkafka's `Producer::flush` calls it with a zero timeout
/// in a loop, and librdkafka sends batches before their linger time only while a flush call is
/// inside it, so those partial batches still waited for `queue.buffering.max.ms`.
fn flush(producer: &FutureProducer) -> Result<(), RDKafkaErrorCode> {
    let ms = i32::try_from(FLUSH_TIMEOUT.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the pointer is the live client `producer` owns for the whole call, and
    // rd_kafka_flush is thread-safe (the producer's polling thread serves its events meanwhile).
    let code = unsafe { rdkafka::bindings::rd_kafka_flush(producer.client().native_ptr(), ms) };
    match RDKafkaErrorCode::from(code) {
        RDKafkaErrorCode::NoError => Ok(()),
        other => Err(other),
    }
}

/// §5.2: `id_field`'s value when it is a non-empty string; without `id_field`, `_key` metadata
/// (numbers as text), else a top-level `_key` property.
fn key_of(cfg: &SenderConfig, record: &Record) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match &cfg.id_field {
        Some(field) => record
            .data
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        None => record
            .get_metadata("_key")
            .and_then(text)
            .or_else(|| record.data.get("_key").and_then(text)),
    }
}

/// §5.2: `timestamp_field` parsed as a date (ISO text or epoch ms), else now with
/// `timestamp_now`, else none (the client uses now).
fn timestamp_of(cfg: &SenderConfig, record: &Record, now: i64) -> Option<i64> {
    match &cfg.timestamp_field {
        Some(field) => match record.data.get(field)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => teraslice_runtime::ops::dates::parse_iso(s),
            _ => None,
        },
        None => cfg.timestamp_now.then_some(now),
    }
}

fn route_of(record: &Record) -> Option<String> {
    match record.get_metadata(ROUTE)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl OperationLifecycle for Sender {
    async fn initialize(&mut self) -> Result<(), OpError> {
        self.verify(&self.topic.clone()).await
    }
    async fn shutdown(&mut self) -> Result<(), OpError> {
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(60))).await;
        Ok(())
    }
}

#[async_trait]
impl BatchProcessor for Sender {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        if !batch.is_empty() {
            self.send(&batch).await?;
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> SenderConfig {
        SenderConfig::parse(&mut v.as_object().cloned().unwrap_or_default()).expect("valid")
    }

    #[test]
    fn keys_come_from_string_id_fields_or_the_key_metadata() {
        let with_id = cfg(json!({"topic": "t", "id_field": "id"}));
        let plain = cfg(json!({"topic": "t"}));
        let mut r = Record::new(json!({"id": "a", "n": 1, "_key": 5}));
        assert_eq!(key_of(&with_id, &r).as_deref(), Some("a"));
        assert_eq!(key_of(&plain, &r).as_deref(), Some("5"), "top-level _key");
        r.set_metadata("_key", json!(12));
        assert_eq!(key_of(&plain, &r).as_deref(), Some("12"));
        let numeric = Record::new(json!({"id": 3}));
        assert_eq!(
            key_of(&with_id, &numeric),
            None,
            "id_field takes strings only"
        );
    }

    #[test]
    fn timestamps_come_from_the_field_or_now() {
        let by_field = cfg(json!({"topic": "t", "timestamp_field": "at", "timestamp_now": true}));
        let now = cfg(json!({"topic": "t", "timestamp_now": true}));
        let r = Record::new(json!({"at": "2024-01-01T00:00:00.000Z"}));
        assert_eq!(timestamp_of(&by_field, &r, 5), Some(1_704_067_200_000));
        assert_eq!(
            timestamp_of(&by_field, &Record::new(json!({"at": "x"})), 5),
            None
        );
        assert_eq!(timestamp_of(&now, &r, 5), Some(5));
        assert_eq!(timestamp_of(&cfg(json!({"topic": "t"})), &r, 5), None);
    }
}
