//! `kafka_reader_api` settings (teraslice-kafka-s3.md §2) and the consumer properties they give.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::connector::{layer, Properties};
use super::settings::{check, rdkafka_options, required_string, u64_of, Problems};

/// `fetch.queue.backoff.ms` unless `rdkafka_options` set it.
const FETCH_QUEUE_BACKOFF_MS: u64 = 10;

/// A validated reader config.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    pub topic: String,
    pub size: usize,
    pub wait_ms: u64,
    pub connection: String,
    pub use_commit_sync: bool,
    pub rollback_on_failure: bool,
    /// `_encoding: raw`: payloads are not decoded.
    pub raw: bool,
    /// The API's `_dead_letter_action` for undecodable messages.
    pub dead_letter_action: String,
    /// Layers 3 and 4 of §1: `group.id`, the derived settings, then the job's `rdkafka_options`.
    pub properties: Properties,
}

impl ReaderConfig {
    /// Checks `map` (an api entry, or a legacy op) and fills its defaults.
    pub fn parse(map: &mut Map<String, Value>) -> Result<ReaderConfig, Vec<ValidationError>> {
        let mut p = Problems(check(map, |c| {
            c.positive_int("size", Some(10_000))
                .duration("wait", Some(30_000))
                .one_of(
                    "offset_reset",
                    &[
                        "smallest",
                        "earliest",
                        "beginning",
                        "largest",
                        "latest",
                        "error",
                    ],
                    "smallest",
                )
                .duration("max_poll_interval", None)
                .bool("use_commit_sync", false)
                .bool("rollback_on_failure", false)
                .one_of(
                    "partition_assignment_strategy",
                    &["range", "roundrobin", "cooperative-sticky", ""],
                    "",
                )
                .one_of("_encoding", &["json", "raw"], "json")
                .optional_string("_dead_letter_action");
        }));
        // Removed in 2019 (a re-poll interval); old jobs still carry it.
        map.shift_remove("interval");
        if !map.contains_key("_connection") {
            map.insert("_connection".into(), Value::from("default"));
        }
        let topic = required_string(map, "topic", &mut p);
        let group = required_string(map, "group", &mut p);
        let connection = required_string(map, "_connection", &mut p);
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
        let flag = |k: &str| map.get(k).and_then(Value::as_bool).unwrap_or(false);
        let size = u64_of(map, "size").unwrap_or(10_000);
        let mut properties = Properties::new();
        for (k, v) in [
            ("group.id", group),
            ("enable.auto.commit", "false".into()),
            ("enable.auto.offset.store", "false".into()),
            (
                "queued.min.messages",
                (2 * size).min(10_000_000).to_string(),
            ),
            ("auto.offset.reset", text("offset_reset")),
            // librdkafka ≥ 2.4 waits this long (1 s by default) before fetching again once its
            // queue passed queued.min.messages; a fetcher that drains 2 × size in a few ms then
            // stalls for most of that second (measured: docs/benchmarks.md, "Kafka asset").
            ("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS.to_string()),
        ] {
            properties.insert(k.into(), v);
        }
        if let Some(ms) = u64_of(map, "max_poll_interval") {
            properties.insert("max.poll.interval.ms".into(), ms.to_string());
        }
        // The deprecated field first, so rdkafka_options win (Teraslice applies it after).
        let strategy = text("partition_assignment_strategy");
        if !strategy.is_empty() {
            properties.insert("partition.assignment.strategy".into(), strategy);
        }
        layer(&mut properties, &options).map_err(|(k, v)| {
            vec![ValidationError {
                path: format!("rdkafka_options.{k}"),
                message: format!("must be a string, number or boolean, got {v}"),
            }]
        })?;
        Ok(ReaderConfig {
            topic,
            size: usize::try_from(size).unwrap_or(usize::MAX),
            wait_ms: u64_of(map, "wait").unwrap_or(30_000),
            connection,
            use_commit_sync: flag("use_commit_sync"),
            rollback_on_failure: flag("rollback_on_failure"),
            raw: text("_encoding") == "raw",
            dead_letter_action: map
                .get("_dead_letter_action")
                .and_then(Value::as_str)
                .unwrap_or("throw")
                .to_string(),
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ReaderConfig, Vec<ValidationError>> {
        ReaderConfig::parse(&mut v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn defaults_and_derived_consumer_properties() {
        let c = parse(
            json!({"topic": "t", "group": "g", "size": 50, "wait": "2 seconds",
            "interval": 50, "offset_reset": "latest", "partition_assignment_strategy": "roundrobin",
            "rdkafka_options": {"partition.assignment.strategy": "range", "fetch.min.bytes": 10}}),
        )
        .expect("valid");
        let prop = |k: &str| c.properties.get(k).map(String::as_str);
        assert_eq!(
            (c.size, c.wait_ms, c.connection.as_str()),
            (50, 2000, "default")
        );
        assert_eq!(prop("group.id"), Some("g"));
        assert_eq!(prop("enable.auto.commit"), Some("false"));
        assert_eq!(prop("queued.min.messages"), Some("100"));
        assert_eq!(prop("fetch.queue.backoff.ms"), Some("10"));
        assert_eq!(prop("auto.offset.reset"), Some("latest"));
        assert_eq!(prop("partition.assignment.strategy"), Some("range"));
        assert_eq!(prop("fetch.min.bytes"), Some("10"));
        assert_eq!(prop("max.poll.interval.ms"), None);
        assert!(!c.rollback_on_failure && !c.raw && c.dead_letter_action == "throw");
        let e = parse(json!({"size": 0, "wait": -1})).expect_err("bad");
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["size", "wait", "topic", "group"]);
    }
}
