//! Defaults, the kubernetesV2 alias, durations, and bad values reported by their full key.
use std::time::Duration;

use super::*;

fn problems(yaml: &str) -> Vec<String> {
    match SystemConfig::from_yaml_str(yaml) {
        Ok(_) => panic!("expected problems for:\n{yaml}"),
        Err(ConfigError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("expected Invalid, got {other}"),
    }
}

const ES_STATE: &str = "
terafoundation:
  connectors:
    elasticsearch-next:
      default:
        node: ['http://localhost:9200']
teraslice:
  state:
    connection_type: elasticsearch-next
";

#[test]
fn builtin_default_is_teraslices() {
    let c = SystemConfig::default();
    let t = &c.teraslice;
    assert_eq!(t.name, "teracluster");
    assert!(t.master);
    assert_eq!(t.port, 5678);
    assert_eq!(t.master_hostname, "localhost");
    assert_eq!(t.cluster_manager_type, ClusterManagerType::NATIVE);
    assert_eq!(t.workers, cpu_count());
    assert_eq!(t.state.connection, "default");
    assert_eq!(t.state.connection_type, StateConnectionType::Sqlite);
    assert_eq!(t.data_dir, std::path::PathBuf::from("./teraslice-data"));
    assert_eq!(t.kubernetes_config_map_name, "teracluster-worker");
    assert_eq!(t.kubernetes_image.as_deref(), Some("teraslice:k8sdev"));
    assert_eq!(t.kubernetes_namespace, "default");
    assert_eq!(
        t.slicer_port_range,
        SlicerPortRange {
            start: 45679,
            end: 46678
        }
    );
    assert_eq!(t.shutdown_timeout(), Duration::from_secs(60));
    assert_eq!(t.action_timeout(), Duration::from_secs(120));
    assert_eq!(t.api_response_timeout(), Duration::from_secs(300));
    assert_eq!(t.slicer_timeout(), Duration::from_secs(180));
    assert_eq!(t.network_latency_buffer(), Duration::from_secs(15));
    assert_eq!(t.node_state_interval(), Duration::from_secs(5));
    assert_eq!(t.kubernetes_api_poll_delay(), Duration::from_secs(1));
    assert_eq!(t.cpu_execution_controller, 0.5);
    assert_eq!(t.memory_execution_controller, 512_000_000.0);
    assert_eq!(t.index_settings.state.number_of_shards, 5);
    assert_eq!(t.index_rollover_frequency.state, RolloverFrequency::Monthly);
    assert_eq!(t.asset_bucket(), "ts-assets-teracluster");
    let tf = &c.terafoundation;
    assert_eq!(
        tf.connector("elasticsearch-next", "default"),
        Some(&serde_json::json!({"node": ["localhost:9200"]}))
    );
    assert_eq!(tf.connector_names("kafka"), vec!["default".to_string()]);
    assert_eq!(tf.prom_metrics_port, 3333);
}

#[test]
fn an_empty_file_gives_schema_defaults() {
    let c = SystemConfig::from_yaml_str("").unwrap();
    assert!(
        !c.teraslice.master,
        "only the built-in default file sets master"
    );
    assert!(c.terafoundation.connectors.is_empty());
    assert_eq!(c.teraslice.name, "teracluster");
    let sections_only = SystemConfig::from_yaml_str("terafoundation:\nteraslice:\n").unwrap();
    assert_eq!(sections_only, c);
}

#[test]
fn kubernetes_v2_is_an_alias_of_kubernetes() {
    for name in ["kubernetes", "kubernetesV2"] {
        let yaml = format!("{ES_STATE}  cluster_manager_type: {name}\n");
        let c = SystemConfig::from_yaml_str(&yaml).unwrap();
        assert_eq!(
            c.teraslice.cluster_manager_type,
            ClusterManagerType::KUBERNETES
        );
    }
    let mock = SystemConfig::from_yaml_str("teraslice:\n  cluster_manager_type: mock\n").unwrap();
    assert_eq!(
        mock.teraslice.cluster_manager_type,
        ClusterManagerType::MOCK
    );
}

#[test]
fn a_third_party_backend_gets_its_own_section() {
    let yaml = "teraslice:\n  cluster_manager_type: command\n  command:\n    template: [sh, -c, 'exec \"$0\" \"$@\"']\n";
    let c = SystemConfig::from_yaml_str(yaml).unwrap();
    assert_eq!(c.teraslice.cluster_manager_type.as_str(), "command");
    let section = c.teraslice.backend_section().cloned();
    assert_eq!(
        section,
        Some(serde_json::json!({"template": ["sh", "-c", "exec \"$0\" \"$@\""]}))
    );
    let native = SystemConfig::from_yaml_str("teraslice:\n  workers: 2\n").unwrap();
    assert_eq!(native.teraslice.backend_section(), None);
}

#[test]
fn durations_accept_ms_and_human_strings() {
    let c = SystemConfig::from_yaml_str(
        "teraslice:\n  shutdown_timeout: 30000\n  action_timeout: '2 minutes'\n  slicer_timeout: '90 seconds'\n  mock:\n    latency_ms: 25\n",
    )
    .unwrap();
    assert_eq!(c.teraslice.shutdown_timeout(), Duration::from_secs(30));
    assert_eq!(c.teraslice.action_timeout(), Duration::from_secs(120));
    assert_eq!(c.teraslice.slicer_timeout(), Duration::from_secs(90));
    assert_eq!(c.teraslice.mock.latency(), Duration::from_millis(25));
}

#[test]
fn the_config_map_name_follows_the_cluster_name_unless_set() {
    let c = SystemConfig::from_yaml_str("teraslice:\n  name: ts-dev1\n").unwrap();
    assert_eq!(c.teraslice.kubernetes_config_map_name, "ts-dev1-worker");
    let c = SystemConfig::from_yaml_str(
        "teraslice:\n  name: ts-dev1\n  kubernetes_config_map_name: my-config\n",
    )
    .unwrap();
    assert_eq!(c.teraslice.kubernetes_config_map_name, "my-config");
}

#[test]
fn empty_strings_for_optional_settings_mean_unset() {
    let yaml = "teraslice:\n  name: ts-dev1\n  assets_directory: ''\n  kubernetes_config_map_name: ''\n  kubernetes_image: ''\n  hostname: ''\n";
    let c = SystemConfig::from_yaml_str(yaml).unwrap();
    let d = SystemConfig::default();
    assert_eq!(c.teraslice.assets_directory, d.teraslice.assets_directory);
    assert_eq!(c.teraslice.kubernetes_config_map_name, "ts-dev1-worker");
    assert_eq!(c.teraslice.kubernetes_image, d.teraslice.kubernetes_image);
    assert_eq!(c.teraslice.hostname, None);
}

#[test]
fn every_bad_value_is_reported_by_its_full_key() {
    let found = problems(
        "
terafoundation:
  log_level: loud
  logging: [console, syslog]
teraslice:
  name: Tera
  port: 70000
  cluster_manager_type: 'kube rnetes'
  shutdown_timeout: soon
  slicer_port_range: '5:1'
  state:
    connection_type: mysql
  index_settings:
    jobs:
      number_of_shards: -1
  index_rollover_frequency:
    state: hourly
  mock:
    nodes: 0
  env_vars:
    1BAD: x
",
    );
    let expected = [
        "terafoundation.log_level: must be one of trace, debug, info, warn, error, fatal, got \"loud\"",
        "terafoundation.logging[1]: must be console or file, got \"syslog\"",
        "teraslice.name: must be a valid Elasticsearch index name",
        "teraslice.cluster_manager_type: must be a backend name: letters, digits, `_` and `-`, starting with a letter, got \"kube rnetes\"",
        "teraslice.port: must be a port number between 1 and 65535, got 70000",
        "teraslice.state.connection_type: must be one of sqlite, elasticsearch-next, elasticsearch, got \"mysql\"",
        "teraslice.index_settings.jobs.number_of_shards: must be an integer >= 0, got -1",
        "teraslice.index_rollover_frequency.state: must be one of daily, monthly, yearly, got \"hourly\"",
        "teraslice.shutdown_timeout: must be a number of milliseconds or \"<integer> <unit>\"",
        "teraslice.slicer_port_range: must be \"<start>:<end>\"",
        "teraslice.env_vars.1BAD: env var name \"1BAD\"",
        "teraslice.mock.nodes: must be an integer >= 1, got 0",
    ];
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "missing `{e}` in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn state_store_choices_are_cross_checked() {
    let found = problems("teraslice:\n  cluster_manager_type: kubernetes\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("teraslice.state.connection_type: sqlite (the default) cannot be used with cluster_manager_type kubernetes"),
        "{found:?}"
    );
    // A Teraslice Kubernetes config has ES connectors and no connection_type: it means ES.
    let teraslice_k8s = "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [es:9200]\nteraslice:\n  cluster_manager_type: kubernetesV2\n";
    let c = SystemConfig::from_yaml_str(teraslice_k8s).unwrap();
    assert_eq!(
        c.teraslice.state.connection_type,
        StateConnectionType::ElasticsearchNext
    );
    let found = problems(&format!(
        "{teraslice_k8s}  state:\n    connection_type: sqlite\n"
    ));
    assert!(
        found[0].starts_with("teraslice.state.connection_type: sqlite cannot be used"),
        "{found:?}"
    );
    let found = problems(&format!("{ES_STATE}    connection: other\n"));
    assert_eq!(
        found,
        vec!["teraslice.state.connection: no elasticsearch-next connector \"other\" in terafoundation.connectors.elasticsearch-next (have: default)"]
    );
    let found = problems("teraslice:\n  asset_storage_connection_type: s3\n");
    assert_eq!(
        found,
        vec!["teraslice.asset_storage_connection: no s3 connector \"default\" in terafoundation.connectors.s3 (have: none)"]
    );
    let found = problems("teraslice:\n  asset_storage_bucket: b\n");
    assert!(found[0].starts_with("teraslice.asset_storage_bucket: only allowed with"));
}

#[test]
fn unknown_keys_are_kept_not_refused() {
    let c = SystemConfig::from_yaml_str(
        "teraslice:\n  hostname: 10.0.0.5\n  reserved_future_key: 1\nterafoundation:\n  environment: dev\n",
    )
    .unwrap();
    assert_eq!(
        c.teraslice.extra.get("reserved_future_key"),
        Some(&serde_json::json!(1))
    );
    assert_eq!(
        c.terafoundation.extra.get("environment"),
        Some(&serde_json::json!("dev"))
    );
    assert_eq!(c.teraslice.hostname.as_deref(), Some("10.0.0.5"));
}

#[test]
fn a_config_survives_a_round_trip_through_its_serialized_form() {
    let c = SystemConfig::from_yaml_str(&format!(
        "{ES_STATE}  cluster_manager_type: kubernetesV2\n  execution_controller_targets: [{{key: zone, value: east}}]\n  assets_directory: [/a, /b]\n  env_vars: {{A: b}}\n  cpu: 1.5\n"
    ))
    .unwrap();
    let doc = serde_json::to_value(&c).unwrap();
    assert_eq!(doc["teraslice"]["slicer_port_range"], "45679:46678");
    assert_eq!(doc["teraslice"]["cluster_manager_type"], "kubernetes");
    assert_eq!(SystemConfig::from_value(&doc).unwrap(), c);
}

#[test]
fn unreadable_or_malformed_files_name_the_file() {
    let missing = std::path::Path::new("/nonexistent/teraslice.yaml");
    let err = SystemConfig::from_path(missing).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/teraslice.yaml"), "{err}");
    let err = SystemConfig::from_yaml_str("teraslice: [unclosed").unwrap_err();
    assert!(matches!(err, ConfigError::Yaml { .. }), "{err}");
    let err = SystemConfig::from_yaml_str("teraslice: 5")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("teraslice: must be a mapping of settings, got 5"),
        "{err}"
    );
}

#[test]
fn the_validation_context_carries_what_jobs_are_checked_against() {
    let c =
        SystemConfig::from_yaml_str(&format!("{ES_STATE}  kubernetes_overrides_enabled: true\n"))
            .unwrap();
    let ctx = c.validation_context(None);
    assert!(ctx.kubernetes_overrides_enabled);
    assert_eq!(ctx.cluster_manager_type, ClusterManagerType::NATIVE);
    assert!(ctx.connectors.contains_key("elasticsearch-next"));
    let job = serde_json::json!({"operations": [
        {"_op": "data_generator"},
        {"_op": "noop", "_connection": "default"}
    ]});
    assert!(crate::job::validate_job(&job, &ctx).is_ok());
}

#[test]
fn state_write_buffer_keys_have_defaults_and_are_checked() {
    let c = SystemConfig::default();
    assert_eq!(
        c.teraslice.state.write_retry_timeout(),
        Duration::from_secs(300)
    );
    assert_eq!(c.teraslice.state.write_buffer_limit, 100_000);
    let c = SystemConfig::from_yaml_str(
        "teraslice:\n  state:\n    write_retry_timeout: 10 seconds\n    write_buffer_limit: 50\n",
    )
    .unwrap_or_else(|e| panic!("valid config refused: {e}"));
    assert_eq!(
        c.teraslice.state.write_retry_timeout(),
        Duration::from_secs(10)
    );
    assert_eq!(c.teraslice.state.write_buffer_limit, 50);
    let found = problems("teraslice:\n  state:\n    write_buffer_limit: 0\n");
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("teraslice.state.write_buffer_limit: must be an integer >= 1")),
        "{found:#?}"
    );
}

#[test]
fn heartbeat_timeout_defaults_to_two_minutes_and_must_be_above_zero() {
    let c = SystemConfig::from_yaml_str("").unwrap();
    assert_eq!(c.teraslice.heartbeat_timeout(), Duration::from_secs(120));
    let c = SystemConfig::from_yaml_str("teraslice:\n  heartbeat_timeout: 5 seconds\n").unwrap();
    assert_eq!(c.teraslice.heartbeat_timeout(), Duration::from_secs(5));
    assert_eq!(
        problems("teraslice:\n  heartbeat_timeout: 0\n"),
        vec!["teraslice.heartbeat_timeout: must be above 0 ms: it is how long a silent worker connection is kept".to_string()]
    );
}

/// Found by the fuzzer (`cargo xtask fuzz`): serde_yaml's text for a stray backtick had no line
/// or column.
#[test]
fn text_that_is_not_yaml_says_where() {
    for text in ["`", "teraslice:\n  name: a\n  `"] {
        match SystemConfig::from_yaml_str(text) {
            Err(ConfigError::Yaml { message, .. }) => {
                assert!(message.contains("line "), "{text:?}: {message}")
            }
            other => panic!("{text:?}: expected a YAML error, got {other:?}"),
        }
    }
}
