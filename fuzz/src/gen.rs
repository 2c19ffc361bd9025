//! Input generators: documents shaped like the real thing (real keys, op names and events) with
//! hostile values (edge numbers, long and odd strings, wrong types, deep nesting), and text
//! damaged byte by byte so the parsers see broken syntax too.
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Number, Value};

/// Top-level job keys (the job schema's, plus a few unknown ones that are kept as extras).
pub const JOB_KEYS: &[&str] = &[
    "name",
    "lifecycle",
    "active",
    "analytics",
    "assets",
    "autorecover",
    "max_retries",
    "operations",
    "apis",
    "probation_window",
    "slicers",
    "workers",
    "stateful",
    "labels",
    "env_vars",
    "log_level",
    "targets",
    "cpu",
    "memory",
    "cpu_execution_controller",
    "memory_execution_controller",
    "resources_requests_cpu",
    "resources_limits_cpu",
    "resources_requests_memory",
    "resources_limits_memory",
    "ephemeral_storage",
    "external_ports",
    "pod_spec_override",
    "volumes",
    "kubernetes_image",
    "prom_metrics_enabled",
    "prom_metrics_port",
    "prom_metrics_add_default",
    "relocatable",
    "job_id",
    "_context",
];

/// Fields the built-in operations and APIs read.
pub const OP_FIELDS: &[&str] = &[
    "_op",
    "_name",
    "_connection",
    "_encoding",
    "_dead_letter_action",
    "_api_name",
    "api_name",
    "size",
    "path",
    "format",
    "ms",
    "file_per_slice",
    "connection",
    "index",
    "start",
    "end",
    "interval",
    "date_field_name",
    "id_field_name",
    "key_range",
    "key_type",
    "query",
    "fields",
    "field",
    "line_delimiter",
    "field_delimiter",
    "include_header",
    "remove_header",
    "compression",
    "extension",
    "stress_test",
    "delay",
    "count",
    "min",
    "max",
    "regex",
    "slicers",
    "lifecycle",
    "preserve_original_key",
    "overwrite",
    "json_schema",
    "id_start_key",
    "subslice_by_key",
    "time_resolution",
    "data",
    "seed",
];

/// `terafoundation` settings.
pub const TERAFOUNDATION_KEYS: &[&str] = &[
    "connectors",
    "log_level",
    "logging",
    "log_path",
    "workers",
    "prom_metrics_enabled",
    "prom_metrics_port",
    "prom_metrics_add_default",
    "prom_metrics_display_url",
];

/// `teraslice` settings, and the keys of its nested sections.
pub const TERASLICE_KEYS: &[&str] = &[
    "action_timeout",
    "analytics_rate",
    "api_payload_limit",
    "api_response_timeout",
    "asset_storage_connection",
    "asset_storage_connection_type",
    "assets_directory",
    "assets_volume",
    "autoload_directory",
    "cluster_manager_type",
    "connection",
    "connection_type",
    "cpu",
    "cpu_execution_controller",
    "data_dir",
    "env_vars",
    "ephemeral_storage",
    "execution_controller_targets",
    "hostname",
    "index_rollover_frequency",
    "index_settings",
    "kubernetes_api_poll_delay",
    "kubernetes_config_map_name",
    "kubernetes_image",
    "kubernetes_image_pull_secret",
    "kubernetes_namespace",
    "kubernetes_overrides_enabled",
    "kubernetes_priority_class_name",
    "kubernetes_worker_antiaffinity",
    "latency_ms",
    "master",
    "master_hostname",
    "memory",
    "mock",
    "name",
    "network_latency_buffer",
    "node_disconnect_timeout",
    "node_state_interval",
    "nodes",
    "number_of_replicas",
    "number_of_shards",
    "port",
    "shutdown_timeout",
    "slicer_allocation_attempts",
    "slicer_port_range",
    "slicer_timeout",
    "slots_per_node",
    "state",
    "worker_disconnect_timeout",
    "workers",
    "analytics",
    "execution",
    "jobs",
    "default",
];

/// The events of the EC⇄worker protocol, and one that does not exist.
pub const EVENTS: &[&str] = &[
    "worker:hello",
    "worker:welcome",
    "worker:failed",
    "client:available",
    "execution:slice:new",
    "worker:slice:refused",
    "worker:slice:complete",
    "slice:recorded",
    "shutdown",
    "execution:log_level",
    "client:shutdown",
    "error",
    "nope",
];

/// Keys of the protocol's payloads.
pub const PAYLOAD_KEYS: &[&str] = &[
    "worker_id",
    "ex_id",
    "slice_id",
    "slicer_id",
    "slicer_order",
    "request",
    "_created",
    "analytics",
    "error",
    "retry_count",
    "next",
    "level",
    "message",
    "time",
    "size",
    "memory",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "null",
    "true",
    "once",
    "persistent",
    "native",
    "kubernetes",
    "kubernetesV2",
    "mock",
    "sqlite",
    "elasticsearch-next",
    "default",
    "../../etc/passwd",
    "/tmp/x",
    "1s",
    "10 minutes",
    "-5ms",
    "ldjson",
    "json",
    "csv",
    "raw",
    "standard",
    "standard@1.2.0",
    "data_generator@standard",
    "noop",
    "\u{0}",
    "é\u{301}",
    "😀",
    "${HOME}",
    "teraslice:k8sdev",
    "100Mi",
    "500m",
    "debug",
    "fatal",
    "20000:20010",
    "65536:1",
    "a.b.c",
    "[0]",
];

fn number() -> impl Strategy<Value = Value> {
    const EDGES: &[u64] = &[
        0,
        1,
        255,
        256,
        65_535,
        65_536,
        u32::MAX as u64,
        u32::MAX as u64 + 1,
        i64::MAX as u64,
        u64::MAX,
    ];
    prop_oneof![
        (-3i64..1000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        select(EDGES).prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (-1.0f64..1e4).prop_map(Value::from),
    ]
}

/// A string: a known or odd one, random text, or a long run.
pub fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(STRINGS).prop_map(str::to_string),
        2 => "\\PC{0,24}",
        2 => "[a-z_]{1,12}",
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        3 => string().prop_map(Value::String),
    ]
}

fn key(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![4 => select(known).prop_map(str::to_string), 1 => string()]
}

/// Any JSON up to 5 levels deep, its object keys mostly from `known`.
pub fn json(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(known), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A value for a known field: mostly a scalar, sometimes a container.
fn field_value(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![4 => scalar(), 1 => json(known)]
}

/// An object of `0..max` fields, named mostly from `known`.
fn fields(known: &'static [&'static str], max: usize) -> impl Strategy<Value = Map<String, Value>> {
    vec((key(known), field_value(known)), 0..max).prop_map(|kv| kv.into_iter().collect())
}

/// A job spec: job fields, and (mostly) an `operations` list of ops named after real ones.
pub fn job(op_names: Vec<String>) -> impl Strategy<Value = Value> {
    let op_name = prop_oneof![
        6 => select(op_names).prop_map(Value::String),
        1 => scalar(),
    ];
    let op = (op_name, fields(OP_FIELDS, 6)).prop_map(|(name, fields)| {
        let mut op = Map::new();
        op.insert("_op".into(), name);
        op.extend(fields);
        Value::Object(op)
    });
    let operations = prop_oneof![
        8 => vec(op, 0..5).prop_map(Value::Array),
        1 => field_value(OP_FIELDS),
    ];
    let apis = vec(fields(OP_FIELDS, 4).prop_map(Value::Object), 0..3).prop_map(Value::Array);
    let spec = (
        fields(JOB_KEYS, 8),
        option::weighted(0.9, operations),
        option::weighted(0.2, apis),
    )
        .prop_map(|(mut job, operations, apis)| {
            if let Some(ops) = operations {
                job.insert("operations".into(), ops);
            }
            if let Some(apis) = apis {
                job.insert("apis".into(), apis);
            }
            Value::Object(job)
        });
    prop_oneof![12 => spec, 8 => nearly_valid_job(), 1 => json(JOB_KEYS)]
}

/// Jobs the validator accepts, each of the built-in reader kinds.
fn valid_jobs() -> Vec<Value> {
    vec![
        serde_json::json!({"name": "g", "workers": 1, "operations": [
            {"_op": "data_generator", "size": 10}, {"_op": "noop"}]}),
        serde_json::json!({"name": "f", "lifecycle": "once", "operations": [
            {"_op": "file_reader", "path": "/tmp/in", "format": "ldjson", "size": 1000},
            {"_op": "delay", "ms": 1},
            {"_op": "file_exporter", "path": "/tmp/out", "format": "json"}]}),
        serde_json::json!({"name": "e", "slicers": 2, "operations": [
            {"_op": "elasticsearch_reader", "index": "a", "date_field_name": "d", "size": 100},
            {"_op": "elasticsearch_bulk", "index": "b", "size": 50}]}),
        serde_json::json!({"name": "t", "operations": [
            {"_op": "test-reader"}, {"_op": "noop"}]}),
    ]
}

/// A valid job with up to 3 fields (of the job or of one op) set to generated values: reaches
/// the checks behind the first ones, and the accepted path (re-validation of what was kept).
fn nearly_valid_job() -> impl Strategy<Value = Value> {
    let edit = (
        any::<bool>(),
        any::<Index>(),
        prop_oneof![select(JOB_KEYS), select(OP_FIELDS)],
        field_value(OP_FIELDS),
    );
    (select(valid_jobs()), vec(edit, 0..4)).prop_map(|(mut job, edits)| {
        for (on_op, which, key, value) in edits {
            let target = if on_op {
                job.get_mut("operations")
                    .and_then(Value::as_array_mut)
                    .filter(|ops| !ops.is_empty())
                    .and_then(|ops| {
                        let i = which.index(ops.len());
                        ops.get_mut(i)
                    })
            } else {
                Some(&mut job)
            };
            if let Some(Value::Object(obj)) = target {
                obj.insert(key.to_string(), value);
            }
        }
        job
    })
}

fn section(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => fields(known, 10).prop_map(Value::Object),
        1 => scalar(),
    ]
}

/// A system config document: `terafoundation` and `teraslice` sections of real settings.
pub fn config() -> impl Strategy<Value = Value> {
    let doc = (
        option::weighted(0.7, section(TERAFOUNDATION_KEYS)),
        option::weighted(0.9, section(TERASLICE_KEYS)),
    )
        .prop_map(|(tf, ts)| {
            let mut root = Map::new();
            if let Some(tf) = tf {
                root.insert("terafoundation".into(), tf);
            }
            if let Some(ts) = ts {
                root.insert("teraslice".into(), ts);
            }
            Value::Object(root)
        });
    prop_oneof![20 => doc, 1 => json(TERASLICE_KEYS)]
}

/// Up to 4 bytes of `text` overwritten; the result read back as UTF-8 (lossily).
fn damaged(text: String, edits: Vec<(Index, u8)>) -> String {
    let mut bytes = text.into_bytes();
    if !bytes.is_empty() {
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edits() -> impl Strategy<Value = Vec<(Index, u8)>> {
    prop_oneof![2 => Just(Vec::new()), 3 => vec((any::<Index>(), any::<u8>()), 1..4)]
}

/// Config file text: a generated config written as YAML, often damaged, or random text.
pub fn config_text() -> impl Strategy<Value = String> {
    let yaml = (config(), edits()).prop_map(|(doc, edits)| {
        let text = serde_yaml::to_string(&doc).unwrap_or_default();
        damaged(text, edits)
    });
    prop_oneof![10 => yaml, 1 => "\\PC{0,200}"]
}

/// One WebSocket text frame: an envelope of real events with generated payloads, often damaged.
pub fn frame() -> impl Strategy<Value = String> {
    let id = prop_oneof![10 => any::<u64>().prop_map(Value::from), 1 => scalar()];
    let event = prop_oneof![10 => select(EVENTS).prop_map(Value::from), 1 => scalar()];
    let payload = prop_oneof![
        6 => fields(PAYLOAD_KEYS, 6).prop_map(Value::Object),
        1 => json(PAYLOAD_KEYS),
    ];
    let envelope = (
        option::weighted(0.95, id),
        option::weighted(0.95, event),
        option::weighted(0.2, any::<u64>()),
        option::weighted(0.8, payload),
    )
        .prop_map(|(id, event, reply_to, payload)| {
            let mut env = Map::new();
            let parts = [
                ("id", id),
                ("reply_to", reply_to.map(Value::from)),
                ("event", event),
                ("payload", payload),
            ];
            for (k, v) in parts {
                if let Some(v) = v {
                    env.insert(k.into(), v);
                }
            }
            Value::Object(env).to_string()
        });
    let text = (envelope, edits()).prop_map(|(text, edits)| damaged(text, edits));
    prop_oneof![12 => text, 1 => "\\PC{0,100}"]
}
