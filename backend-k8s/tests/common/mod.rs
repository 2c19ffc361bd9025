//! Fixtures shared by the manifest tests: the system config and example executions.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};
use teraslice_backend_k8s::K8sConfig;
use teraslice_core::config::SystemConfig;
use teraslice_core::job::{validate_job, JobValidationContext};
use teraslice_core::{ExecutionRecord, ExecutionStatus};

pub const JOB_ID: &str = "7ba9afb0-417a-4936-adc5-b15e31d1edd1";
pub const EX_ID: &str = "e76a0278-d9bc-4d78-bf14-431bcd97528c";

/// The worker config of examples/k8s (teraslice-k8s.md §4.2's fixture, plus our example's keys).
pub const BASE_CONFIG: &str = "terafoundation:
  connectors:
    elasticsearch-next:
      default:
        node: [\"http://elasticsearch:9200\"]
teraslice:
  state: {connection_type: elasticsearch-next}
  name: ts-dev1
  cluster_manager_type: kubernetes
  kubernetes_namespace: ts-dev1
  kubernetes_image: teraslice:k8sdev
  kubernetes_config_map_name: ts-dev1-worker
  kubernetes_overrides_enabled: true
  kubernetes_priority_class_name: high-priority
  shutdown_timeout: 30000
  assets_directory: /app/assets
  env_vars: {FOO: bar, EXAMPLE: test}
";

pub fn system_config(yaml: &str) -> SystemConfig {
    SystemConfig::from_yaml_str(yaml).unwrap_or_else(|e| panic!("config {yaml}: {e}"))
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/k8s")
}

/// The example job `file` with `overrides` merged in, validated, as a fixed execution record.
pub fn example_execution(file: &str, overrides: Value, cfg: &K8sConfig) -> ExecutionRecord {
    let text = std::fs::read_to_string(examples_dir().join(file)).expect("example job");
    let mut job: Value = serde_json::from_str(&text).expect("example job JSON");
    if let (Some(j), Value::Object(o)) = (job.as_object_mut(), overrides) {
        j.extend(o);
    }
    let ctx = JobValidationContext {
        cluster_manager_type: teraslice_core::config::ClusterManagerType::KUBERNETES,
        cpu_count: 4,
        kubernetes_overrides_enabled: cfg.overrides_enabled,
        connectors: Map::new(),
        ops: None,
    };
    let job = validate_job(&job, &ctx).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    let mut ex = ExecutionRecord::new(JOB_ID, job);
    ex.ex_id = EX_ID.into();
    let t = Utc
        .with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
        .single()
        .expect("time");
    ex.created = t;
    ex.updated = t;
    ex.status = ExecutionStatus::Initializing;
    ex
}
