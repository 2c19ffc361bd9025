//! `kafka_dead_letter` (teraslice-kafka-s3.md §6): a dead-letter API that produces each rejected
//! record as `{"record": "<text>", "error": "<message>"}` to its topic. Named by an op's or
//! API's `_dead_letter_action`.
use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use serde_json::{json, Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{ApiContext, ApiFactory, ApiInstance, DeadLetterQueue, OpError};

use super::connector::{self, client_config, layer, Properties};
use super::error::KafkaError;
use super::settings::{check, rdkafka_options, required_string, u64_of, Problems};

/// How long dropping the API waits for its last messages.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

pub struct DeadLetterApi {
    pub connectors: Arc<Map<String, Value>>,
}

/// The topic, connector name and producer properties of an entry.
fn parse(
    map: &mut Map<String, Value>,
) -> Result<(String, String, Properties), Vec<ValidationError>> {
    let mut p = Problems(check(map, |c| {
        c.one_of(
            "compression",
            &["none", "gzip", "snappy", "lz4", "inherit"],
            "gzip",
        )
        .duration("wait", Some(500))
        .positive_int("size", Some(10_000))
        .positive_int("max_buffer_size", Some(100_000))
        .positive_int("max_buffer_kbytes_size", Some(1_048_576))
        .duration("metadata_refresh", Some(300_000));
    }));
    if !map.contains_key("_connection") {
        map.insert("_connection".into(), Value::from("default"));
    }
    let topic = required_string(map, "topic", &mut p);
    let connection = required_string(map, "_connection", &mut p);
    let options = rdkafka_options(map);
    if !p.0.is_empty() {
        return Err(p.0);
    }
    let mut properties = Properties::new();
    let text = map
        .get("compression")
        .and_then(Value::as_str)
        .unwrap_or("gzip");
    properties.insert("compression.codec".into(), text.into());
    for (key, property) in [
        ("wait", "queue.buffering.max.ms"),
        ("size", "batch.num.messages"),
        ("max_buffer_size", "queue.buffering.max.messages"),
        ("metadata_refresh", "topic.metadata.refresh.interval.ms"),
    ] {
        properties.insert(
            property.into(),
            u64_of(map, key).unwrap_or_default().to_string(),
        );
    }
    layer(&mut properties, &options).map_err(|(k, v)| {
        vec![ValidationError {
            path: format!("rdkafka_options.{k}"),
            message: format!("must be a string, number or boolean, got {v}"),
        }]
    })?;
    Ok((topic, connection, properties))
}

/// The producer, flushed when the API goes away (the worker stops).
struct Flushing(ThreadedProducer<DefaultProducerContext>);

impl Drop for Flushing {
    fn drop(&mut self) {
        if let Err(e) = self.0.flush(FLUSH_TIMEOUT) {
            tracing::error!(error = %e, "kafka_dead_letter: messages not delivered at shutdown");
        }
    }
}

impl ApiFactory for DeadLetterApi {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        let name = config.shift_remove("_name");
        let errors = parse(config).err().unwrap_or_default();
        if let Some(name) = name {
            config.insert("_name".into(), name);
        }
        errors
    }

    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError> {
        let mut map = ctx.config.0.clone();
        map.shift_remove("_name");
        let (topic, connection, properties) = parse(&mut map).map_err(|e| {
            let list: Vec<String> = e.iter().map(ToString::to_string).collect();
            OpError::non_retryable(format!("kafka_dead_letter: {}", list.join("; ")))
        })?;
        let connector = connector::find(&self.connectors, &connection)?;
        let mut all = connector.properties.clone();
        all.extend(properties);
        let producer: ThreadedProducer<DefaultProducerContext> =
            client_config(&all).create().map_err(|e| {
                KafkaError::Config(format!(
                    "kafka_dead_letter: cannot create a producer on {}: {e}",
                    connector.source
                ))
            })?;
        let producer = Arc::new(Flushing(producer));
        let send = move |record: &teraslice_runtime::ops::Record, err: &OpError| {
            let text = match &record.data {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value = json!({"record": text, "error": err.message}).to_string();
            let message: BaseRecord<'_, (), String> = BaseRecord::to(&topic).payload(&value);
            if let Err((e, _)) = producer.0.send(message) {
                tracing::error!(topic = %topic, error = %e, "kafka_dead_letter: could not queue a rejected record");
            }
        };
        Ok(Arc::new(DeadLetterQueue(Box::new(send))))
    }
}
