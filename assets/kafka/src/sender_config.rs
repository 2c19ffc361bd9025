//! `kafka_sender_api` settings (teraslice-kafka-s3.md §4) and the producer properties they give.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::connector::{layer, Properties};
use super::settings::{check, rdkafka_options, required_string, u64_of, Problems};

/// How a full producer queue is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// Flush at the configured thresholds; a full queue is waited out, then the send retried.
    ThresholdFlush,
    /// Retry each send on a full queue, with back-off.
    RetryOnFull,
}

/// A validated sender config.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub topic: String,
    pub id_field: Option<String>,
    pub timestamp_field: Option<String>,
    pub timestamp_now: bool,
    pub connection: String,
    pub max_buffer_size: u64,
    pub max_buffer_kbytes_size: u64,
    pub backpressure: Backpressure,
    /// Layer 4 of §1: derived settings, then the job's `rdkafka_options`.
    pub properties: Properties,
}

fn optional_string(map: &Map<String, Value>, key: &str, p: &mut Problems) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            p.push(key, format!("must be a string, got {other}"));
            None
        }
    }
}

impl SenderConfig {
    /// Checks `map` (an api entry, or a legacy op) and fills its defaults.
    pub fn parse(map: &mut Map<String, Value>) -> Result<SenderConfig, Vec<ValidationError>> {
        let mut p = Problems(check(map, |c| {
            c.bool("timestamp_now", false)
                .one_of(
                    "compression",
                    &["none", "gzip", "snappy", "lz4", "inherit"],
                    "gzip",
                )
                .duration("wait", Some(500))
                .positive_int("size", Some(10_000))
                .duration("metadata_refresh", Some(300_000))
                .one_of(
                    "queue_backpressure_strategy",
                    &["threshold_flush", "retry_on_full"],
                    "threshold_flush",
                );
        }));
        if !map.contains_key("_connection") {
            map.insert("_connection".into(), Value::from("default"));
        }
        let topic = required_string(map, "topic", &mut p);
        let connection = required_string(map, "_connection", &mut p);
        let id_field = optional_string(map, "id_field", &mut p);
        let timestamp_field = optional_string(map, "timestamp_field", &mut p);
        let max_buffer_size = match map.get("max_buffer_size") {
            None | Some(Value::Null) => None,
            Some(v) => v.as_u64().or_else(|| {
                p.push("max_buffer_size", format!("must be a number ≥ 0, got {v}"));
                None
            }),
        };
        let max_buffer_kbytes_size = match map.get("max_buffer_kbytes_size") {
            None | Some(Value::Null) => None,
            Some(v) => v.as_u64().filter(|n| *n > 0).or_else(|| {
                p.push(
                    "max_buffer_kbytes_size",
                    format!("must be a number > 0, got {v}"),
                );
                None
            }),
        };
        let required_acks = match map.get("required_acks") {
            None | Some(Value::Null) => 1,
            Some(v) => match v.as_i64().filter(|n| (-1..=1000).contains(n)) {
                Some(n) => n,
                None => {
                    p.push(
                        "required_acks",
                        format!("must be an integer (0 none, 1 leader, -1 all), got {v}"),
                    );
                    1
                }
            },
        };
        map.insert("required_acks".into(), Value::from(required_acks));
        if let Some(Value::Object(report)) = map.get("delivery_report") {
            let flag = |k: &str| report.get(k).and_then(Value::as_bool).unwrap_or(false);
            if report.get("on_error").and_then(Value::as_str) == Some("throw") && !flag("wait") {
                p.push(
                    "delivery_report.on_error",
                    "throw needs delivery_report.wait: true",
                );
            }
            if flag("wait") && flag("only_error") {
                p.push(
                    "delivery_report.only_error",
                    "cannot be true with delivery_report.wait: true",
                );
            }
        }
        let options = rdkafka_options(map);
        if !p.0.is_empty() {
            return Err(p.0);
        }
        let text = |k: &str| {
            map.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut properties = Properties::new();
        properties.insert("compression.codec".into(), text("compression"));
        if let Some(n) = max_buffer_kbytes_size {
            properties.insert("queue.buffering.max.kbytes".into(), n.to_string());
        }
        if let Some(n) = max_buffer_size.filter(|n| *n > 0) {
            properties.insert("queue.buffering.max.messages".into(), n.to_string());
        }
        for (key, property) in [
            ("wait", "queue.buffering.max.ms"),
            ("size", "batch.num.messages"),
            ("metadata_refresh", "topic.metadata.refresh.interval.ms"),
        ] {
            properties.insert(
                property.into(),
                u64_of(map, key).unwrap_or_default().to_string(),
            );
        }
        properties.insert("log.connection.close".into(), "false".into());
        properties.insert("request.required.acks".into(), required_acks.to_string());
        layer(&mut properties, &options).map_err(|(k, v)| {
            vec![ValidationError {
                path: format!("rdkafka_options.{k}"),
                message: format!("must be a string, number or boolean, got {v}"),
            }]
        })?;
        Ok(SenderConfig {
            topic,
            id_field,
            timestamp_field,
            timestamp_now: map
                .get("timestamp_now")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            connection,
            max_buffer_size: max_buffer_size.unwrap_or(0),
            max_buffer_kbytes_size: max_buffer_kbytes_size.unwrap_or(0),
            backpressure: if text("queue_backpressure_strategy") == "retry_on_full" {
                Backpressure::RetryOnFull
            } else {
                Backpressure::ThresholdFlush
            },
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<SenderConfig, Vec<ValidationError>> {
        SenderConfig::parse(&mut v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn defaults_derive_producer_properties_and_rdkafka_options_win() {
        let c = parse(
            json!({"topic": "t", "required_acks": -1, "compression": "lz4",
            "rdkafka_options": {"batch.num.messages": 7}}),
        )
        .expect("valid");
        let prop = |k: &str| c.properties.get(k).map(String::as_str);
        assert_eq!(prop("compression.codec"), Some("lz4"));
        assert_eq!(prop("request.required.acks"), Some("-1"));
        assert_eq!(prop("queue.buffering.max.ms"), Some("500"));
        assert_eq!(prop("batch.num.messages"), Some("7"));
        assert_eq!(prop("topic.metadata.refresh.interval.ms"), Some("300000"));
        assert_eq!(prop("queue.buffering.max.messages"), None);
        assert_eq!((c.connection.as_str(), c.timestamp_now), ("default", false));
        let e = parse(json!({"compression": "zstd", "required_acks": "all"})).expect_err("bad");
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["compression", "topic", "required_acks"]);
    }
}
