//! The nested mappings of the `teraslice` section: `state`, `index_settings`,
//! `index_rollover_frequency` and `mock`.
use serde_json::{Map, Value};

use super::parse::warn_unknown;
use super::parse_teraslice::require_connector;
use super::*;
use crate::job::validate::fields::Fields;

const INDEXES: &[&str] = &["analytics", "assets", "jobs", "execution", "state"];

/// A nested mapping; absent or null means all its defaults.
fn nested<'a>(f: &mut Fields<'a, '_>, key: &str) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    f.object(key).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

pub(super) fn state(f: &mut Fields, tf: &TerafoundationConfig, kubernetes: bool) -> StateConfig {
    let obj = nested(f, "state");
    warn_unknown(
        obj,
        "teraslice.state.",
        &[
            "connection",
            "connection_type",
            "write_retry_timeout",
            "write_buffer_limit",
        ],
    );
    let d = StateConfig::default();
    let mut s = Fields::new(obj, "teraslice.state.", f.problems).null_is_default();
    let connection = s.required_string("connection", "default");
    let connection_type = s.one_of(
        "connection_type",
        &[
            ("sqlite", StateConnectionType::Sqlite),
            ("elasticsearch-next", StateConnectionType::ElasticsearchNext),
            ("elasticsearch", StateConnectionType::Elasticsearch),
        ],
        default_connection_type(tf, kubernetes),
    );
    if connection_type == StateConnectionType::Sqlite {
        if kubernetes {
            let given = if s.get("connection_type").is_some() {
                ""
            } else {
                " (the default)"
            };
            s.fail(
                "connection_type",
                format!("sqlite{given} cannot be used with cluster_manager_type kubernetes, because pods need a state store they can reach over the network; use elasticsearch-next or elasticsearch"),
            );
        }
    } else {
        require_connector(
            &mut s,
            "connection",
            tf,
            connection_type.as_str(),
            &connection,
        );
    }
    let write_retry_timeout_ms = s.duration_ms("write_retry_timeout", d.write_retry_timeout_ms);
    let write_buffer_limit = s.positive_int("write_buffer_limit", d.write_buffer_limit);
    StateConfig {
        connection,
        connection_type,
        write_retry_timeout_ms,
        write_buffer_limit,
    }
}

/// SQLite, except on Kubernetes, where a Teraslice config (which has no `connection_type`) means
/// its Elasticsearch connector: pods cannot share a SQLite file.
fn default_connection_type(tf: &TerafoundationConfig, kubernetes: bool) -> StateConnectionType {
    let has = |kind: &str| tf.connectors.contains_key(kind);
    match (kubernetes, has("elasticsearch-next"), has("elasticsearch")) {
        (true, true, _) => StateConnectionType::ElasticsearchNext,
        (true, false, true) => StateConnectionType::Elasticsearch,
        _ => StateConnectionType::Sqlite,
    }
}

pub(super) fn index_settings(f: &mut Fields) -> IndexSettingsConfig {
    let obj = nested(f, "index_settings");
    warn_unknown(obj, "teraslice.index_settings.", INDEXES);
    let mut i = Fields::new(obj, "teraslice.index_settings.", f.problems).null_is_default();
    let mut read = |index: &str| {
        let settings = nested(&mut i, index);
        let prefix = format!("teraslice.index_settings.{index}.");
        let mut s = Fields::new(settings, &prefix, &mut *i.problems).null_is_default();
        IndexSettings {
            number_of_shards: s.nat("number_of_shards", 5),
            number_of_replicas: s.nat("number_of_replicas", 1),
        }
    };
    IndexSettingsConfig {
        analytics: read("analytics"),
        assets: read("assets"),
        jobs: read("jobs"),
        execution: read("execution"),
        state: read("state"),
    }
}

pub(super) fn rollover(f: &mut Fields) -> IndexRolloverFrequency {
    let obj = nested(f, "index_rollover_frequency");
    warn_unknown(
        obj,
        "teraslice.index_rollover_frequency.",
        &["state", "analytics"],
    );
    let mut r =
        Fields::new(obj, "teraslice.index_rollover_frequency.", f.problems).null_is_default();
    let choices = [
        ("daily", RolloverFrequency::Daily),
        ("monthly", RolloverFrequency::Monthly),
        ("yearly", RolloverFrequency::Yearly),
    ];
    IndexRolloverFrequency {
        state: r.one_of("state", &choices, RolloverFrequency::Monthly),
        analytics: r.one_of("analytics", &choices, RolloverFrequency::Monthly),
    }
}

pub(super) fn mock(f: &mut Fields) -> MockConfig {
    let obj = nested(f, "mock");
    warn_unknown(
        obj,
        "teraslice.mock.",
        &["nodes", "slots_per_node", "latency_ms"],
    );
    let d = MockConfig::default();
    let mut m = Fields::new(obj, "teraslice.mock.", f.problems).null_is_default();
    MockConfig {
        nodes: m.positive_int("nodes", d.nodes),
        slots_per_node: m.positive_int("slots_per_node", d.slots_per_node),
        latency_ms: m.duration_ms("latency_ms", d.latency_ms),
    }
}
