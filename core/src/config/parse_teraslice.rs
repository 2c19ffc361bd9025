//! Reading the `teraslice` section, with the cross-checks against `terafoundation.connectors` and
//! the cluster type.
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::parse::{unknown, warn_unknown};
use super::parse_nested::{index_settings, mock, rollover, state};
use super::parse_security;
use super::teraslice::cwd_join;
use super::*;
use crate::job::validate::fields::{describe, list, Fields};
use crate::job::validate::k8s_fields::{env_vars, targets};
use crate::job::validate::k8s_names::{check_dns_label, check_dns_subdomain, dns_subdomain_from};

const KEYS: &[&str] = &[
    "name",
    "port",
    "master",
    "master_hostname",
    "hostname",
    "workers",
    "cluster_manager_type",
    "state",
    "data_dir",
    "index_settings",
    "index_rollover_frequency",
    "api_response_timeout",
    "shutdown_timeout",
    "node_disconnect_timeout",
    "worker_disconnect_timeout",
    "slicer_timeout",
    "action_timeout",
    "network_latency_buffer",
    "heartbeat_timeout",
    "node_state_interval",
    "analytics_rate",
    "kubernetes_api_poll_delay",
    "slicer_allocation_attempts",
    "slicer_port_range",
    "assets_directory",
    "autoload_directory",
    "assets_volume",
    "asset_storage_connection_type",
    "asset_storage_connection",
    "asset_storage_bucket",
    "env_vars",
    "cpu",
    "memory",
    "cpu_execution_controller",
    "memory_execution_controller",
    "ephemeral_storage",
    "execution_controller_targets",
    "kubernetes_image",
    "kubernetes_namespace",
    "kubernetes_overrides_enabled",
    "kubernetes_priority_class_name",
    "kubernetes_config_map_name",
    "kubernetes_image_pull_secret",
    "kubernetes_worker_antiaffinity",
    "mock",
];

/// Our keys that other crates read from `TerasliceConfig::extra` (so they are not warned about):
/// the Kubernetes backend's unschedulable timeout and the API's body limit.
const EXTENSION_KEYS: &[&str] = &["kubernetes_unschedulable_timeout", "api_payload_limit"];

pub(super) fn teraslice(
    obj: &Map<String, Value>,
    tf: &TerafoundationConfig,
    problems: &mut crate::job::validate::fields::Problems,
) -> TerasliceConfig {
    let d = TerasliceConfig::default();
    let mut f = Fields::new(obj, "teraslice.", problems).null_is_default();
    let name = cluster_name(&mut f);
    let cluster_manager_type = cluster_manager_type(&mut f);
    // A registered third-party backend's settings: `teraslice.<its name>`, read by the backend.
    let backend_section = [cluster_manager_type.as_str()];
    warn_unknown(
        obj,
        "teraslice.",
        &[KEYS, EXTENSION_KEYS, parse_security::KEYS, &backend_section].concat(),
    );
    let kubernetes = cluster_manager_type == ClusterManagerType::KUBERNETES;
    let asset_storage_connection_type = f.one_of(
        "asset_storage_connection_type",
        &[
            ("elasticsearch-next", AssetStorageType::ElasticsearchNext),
            ("s3", AssetStorageType::S3),
        ],
        d.asset_storage_connection_type,
    );
    let asset_storage_connection = f.required_string("asset_storage_connection", "default");
    if asset_storage_connection_type == AssetStorageType::S3 {
        require_connector(
            &mut f,
            "asset_storage_connection",
            tf,
            "s3",
            &asset_storage_connection,
        );
    }
    let asset_storage_bucket = f.optional_string("asset_storage_bucket", None);
    if asset_storage_bucket.is_some() && asset_storage_connection_type != AssetStorageType::S3 {
        f.fail(
            "asset_storage_bucket",
            "only allowed with asset_storage_connection_type: s3",
        );
    }
    let kubernetes_namespace = f
        .optional_string("kubernetes_namespace", Some("default"))
        .unwrap_or_else(|| d.kubernetes_namespace.clone());
    // The default is derived from the cluster name, which Teraslice allows `_` and such in
    // (`ts_dev.1`): derive a valid object name from it rather than refuse the config.
    let kubernetes_config_map_name = f
        .optional_string("kubernetes_config_map_name", None)
        .unwrap_or_else(|| dns_subdomain_from(&format!("{name}-worker")));
    if kubernetes {
        // Only Kubernetes turns these into object names; elsewhere they are unused.
        if let Err(e) = check_dns_label(&kubernetes_namespace) {
            f.fail("kubernetes_namespace", format!("namespace {e}"));
        }
        if let Err(e) = check_dns_subdomain(&kubernetes_config_map_name) {
            f.fail("kubernetes_config_map_name", format!("ConfigMap name {e}"));
        }
    }
    TerasliceConfig {
        port: f.port("port", d.port),
        master: f.bool("master", d.master),
        master_hostname: f.required_string("master_hostname", &d.master_hostname),
        hostname: f.optional_string("hostname", None),
        workers: f.nat("workers", d.workers),
        state: state(&mut f, tf, kubernetes),
        data_dir: PathBuf::from(f.required_string("data_dir", "./teraslice-data")),
        index_settings: index_settings(&mut f),
        index_rollover_frequency: rollover(&mut f),
        api_response_timeout_ms: f.duration_ms("api_response_timeout", d.api_response_timeout_ms),
        shutdown_timeout_ms: f.duration_ms("shutdown_timeout", d.shutdown_timeout_ms),
        node_disconnect_timeout_ms: f
            .duration_ms("node_disconnect_timeout", d.node_disconnect_timeout_ms),
        worker_disconnect_timeout_ms: f
            .duration_ms("worker_disconnect_timeout", d.worker_disconnect_timeout_ms),
        slicer_timeout_ms: f.duration_ms("slicer_timeout", d.slicer_timeout_ms),
        action_timeout_ms: f.duration_ms("action_timeout", d.action_timeout_ms),
        network_latency_buffer_ms: f
            .duration_ms("network_latency_buffer", d.network_latency_buffer_ms),
        heartbeat_timeout_ms: heartbeat_timeout(&mut f, d.heartbeat_timeout_ms),
        node_state_interval_ms: f.duration_ms("node_state_interval", d.node_state_interval_ms),
        analytics_rate_ms: f.duration_ms("analytics_rate", d.analytics_rate_ms),
        kubernetes_api_poll_delay_ms: f
            .duration_ms("kubernetes_api_poll_delay", d.kubernetes_api_poll_delay_ms),
        slicer_allocation_attempts: f
            .nat("slicer_allocation_attempts", d.slicer_allocation_attempts),
        slicer_port_range: port_range(&mut f).unwrap_or(d.slicer_port_range),
        assets_directory: assets_directory(&mut f).unwrap_or(d.assets_directory),
        autoload_directory: f.optional_string("autoload_directory", Some(&cwd_join("autoload"))),
        assets_volume: f.optional_string("assets_volume", None),
        asset_storage_connection_type,
        asset_storage_connection,
        asset_storage_bucket,
        env_vars: env_vars(&mut f),
        cpu: f.non_negative_number("cpu"),
        memory: f.non_negative_number("memory"),
        cpu_execution_controller: f
            .non_negative_number("cpu_execution_controller")
            .unwrap_or(d.cpu_execution_controller),
        memory_execution_controller: f
            .non_negative_number("memory_execution_controller")
            .unwrap_or(d.memory_execution_controller),
        ephemeral_storage: f.bool("ephemeral_storage", false),
        execution_controller_targets: f
            .get("execution_controller_targets")
            .map(|_| targets(&mut f, "execution_controller_targets")),
        kubernetes_image: f.optional_string("kubernetes_image", d.kubernetes_image.as_deref()),
        kubernetes_namespace,
        kubernetes_overrides_enabled: f.bool("kubernetes_overrides_enabled", false),
        kubernetes_priority_class_name: f.optional_string("kubernetes_priority_class_name", None),
        kubernetes_config_map_name,
        kubernetes_image_pull_secret: f.optional_string("kubernetes_image_pull_secret", None),
        kubernetes_worker_antiaffinity: f.bool("kubernetes_worker_antiaffinity", false),
        mock: mock(&mut f),
        security: parse_security::security(&mut f),
        extra: unknown(obj, &[KEYS, parse_security::KEYS].concat()),
        name,
        cluster_manager_type,
    }
}

/// `name`: an elasticsearch_name, as it prefixes every index.
fn cluster_name(f: &mut Fields) -> String {
    let name = f.required_string("name", "teracluster");
    let ok = name.len() <= 255
        && !name.chars().any(char::is_uppercase)
        && !name.contains(['#', '*', '?', '"', '<', '>', '|', '/', '\\'])
        && !name.starts_with(['_', '-', '+']);
    if !ok {
        f.fail(
            "name",
            format!("must be a valid Elasticsearch index name: lowercase, at most 255 characters, none of #*?\"<>|/\\, and not starting with _, - or +; got \"{name}\""),
        );
    }
    name
}

/// Any backend name: whether a backend of that name is registered is checked when the master
/// builds it ([`crate::backend_factory::BackendFactory::build`]), which lists the registered ones.
fn cluster_manager_type(f: &mut Fields) -> ClusterManagerType {
    let key = "cluster_manager_type";
    match f.get(key) {
        None => ClusterManagerType::NATIVE,
        Some(Value::String(s)) => ClusterManagerType::new(s).unwrap_or_else(|invalid| {
            f.fail(key, invalid.to_string());
            ClusterManagerType::NATIVE
        }),
        Some(other) => {
            f.fail(
                key,
                format!(
                    "must be {} (native, kubernetes, mock, or one this build registers), got {}",
                    ClusterManagerType::NAME_RULE,
                    describe(other)
                ),
            );
            ClusterManagerType::NATIVE
        }
    }
}

/// Fails `key` unless `terafoundation.connectors.<kind>.<name>` exists.
pub(super) fn require_connector(
    f: &mut Fields,
    key: &str,
    tf: &TerafoundationConfig,
    kind: &str,
    name: &str,
) {
    if tf.connector(kind, name).is_none() {
        let have = tf.connector_names(kind);
        f.fail(
            key,
            format!(
                "no {kind} connector \"{name}\" in terafoundation.connectors.{kind} (have: {})",
                list(&have)
            ),
        );
    }
}

/// `"start:end"` with start < end.
fn port_range(f: &mut Fields) -> Option<SlicerPortRange> {
    let v = f.get("slicer_port_range")?;
    let parsed = v.as_str().and_then(|s| {
        let (a, b) = s.split_once(':')?;
        let start: u16 = a.trim().parse().ok()?;
        let end: u16 = b.trim().parse().ok()?;
        (start >= 1 && start < end).then_some(SlicerPortRange { start, end })
    });
    if parsed.is_none() {
        f.fail(
            "slicer_port_range",
            format!("must be \"<start>:<end>\" with ports between 1 and 65535 and start < end (e.g. \"45679:46678\"), got {}", describe(v)),
        );
    }
    parsed
}

/// A directory or a list of directories; `""` means unset (the default).
fn assets_directory(f: &mut Fields) -> Option<Vec<String>> {
    let allowed = "must be a directory path or a list of directory paths";
    match f.get("assets_directory")? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) if !s.is_empty() => Some(vec![s.clone()]),
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.as_str().is_some_and(|s| !s.is_empty())) =>
        {
            Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
            )
        }
        other => {
            f.fail(
                "assets_directory",
                format!("{allowed}, got {}", describe(other)),
            );
            None
        }
    }
}

/// `heartbeat_timeout`: a duration above zero (0 would drop every connection at once).
fn heartbeat_timeout(f: &mut Fields, default: u64) -> u64 {
    let ms = f.duration_ms("heartbeat_timeout", default);
    if ms == 0 {
        f.fail(
            "heartbeat_timeout",
            "must be above 0 ms: it is how long a silent worker connection is kept",
        );
        return default;
    }
    ms
}
