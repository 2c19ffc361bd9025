//! Defaults, several problems at once, real Teraslice jobs, and op/API checks through a catalog.
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{validate_job, JobValidationContext, OpCatalog, OpRole, ValidationError};
use crate::config::ClusterManagerType;
use crate::job::{ExternalPort, Lifecycle, LogLevel, TargetConstraint};

pub(super) fn ctx() -> JobValidationContext {
    JobValidationContext {
        cluster_manager_type: ClusterManagerType::NATIVE,
        cpu_count: 8,
        kubernetes_overrides_enabled: false,
        connectors: json!({"elasticsearch-next": {"default": {"node": ["localhost:9200"]}}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ops: None,
    }
}

pub(super) fn minimal_job() -> Value {
    json!({"operations": [{"_op": "data_generator"}, {"_op": "noop"}]})
}

#[test]
fn defaults_are_teraslices() {
    let job = validate_job(&minimal_job(), &ctx()).unwrap();
    assert_eq!(job.name, "Custom Job");
    assert_eq!(job.lifecycle, Lifecycle::Once);
    assert!(job.active);
    assert!(job.analytics);
    assert!(!job.autorecover);
    assert_eq!(job.assets, None);
    assert_eq!(job.max_retries, 3);
    assert_eq!(job.probation_window, 300_000);
    assert_eq!(job.slicers, 1);
    assert_eq!(job.workers, 5, "min(cpu_count 8, 5)");
    assert!(!job.stateful);
    assert_eq!(job.labels, None);
    assert!(job.env_vars.is_empty());
    assert_eq!(job.log_level, None);
    assert!(job.apis.is_empty());
    assert!(job.targets.is_empty() && job.volumes.is_empty());
    assert!(!job.ephemeral_storage);
    assert!(job.pod_spec_override.is_empty());
    assert_eq!(job.operations[0].get("_encoding"), Some(&json!("json")));
    assert_eq!(
        job.operations[1].get("_dead_letter_action"),
        Some(&json!("throw"))
    );
}

#[test]
fn workers_default_follows_the_cpu_count() {
    let mut c = ctx();
    c.cpu_count = 2;
    assert_eq!(validate_job(&minimal_job(), &c).unwrap().workers, 2);
    c.cpu_count = 0;
    assert_eq!(validate_job(&minimal_job(), &c).unwrap().workers, 1);
}

#[test]
fn numeric_strings_and_human_durations_are_coerced() {
    let mut job = minimal_job();
    job["workers"] = json!("3");
    job["slicers"] = json!(2.0);
    job["probation_window"] = json!("5 minutes");
    let v = validate_job(&job, &ctx()).unwrap();
    assert_eq!((v.workers, v.slicers, v.probation_window), (3, 2, 300_000));
}

#[test]
fn every_problem_is_reported_at_once() {
    let job = json!({
        "workers": -3,
        "lifecycle": "sometimes",
        "apis": [{"_name": "x"}, {"_name": "x"}],
        "operations": [{"_op": "data_generator", "_api_name": "y"}],
        "labels": {"bad key": 1},
    });
    let errors = validate_job(&job, &ctx()).unwrap_err().0;
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "workers",
        "lifecycle",
        "apis[1]._name",
        "operations",
        "operations[0]._api_name",
        "labels.bad key",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    assert_eq!(errors.len(), 6, "{errors:?}");
    let api = errors.iter().find(|e| e.path == "operations[0]._api_name");
    assert_eq!(
        api.map(|e| e.message.as_str()),
        Some("no api named \"y\" in apis (have: x, x)")
    );
    let text = super::ValidationErrors(errors).to_string();
    assert!(text.starts_with("invalid job: "), "{text}");
    assert!(
        text.contains("workers: must be an integer >= 1, got -3"),
        "{text}"
    );
}

#[test]
fn undeclared_keys_are_kept() {
    let mut job = minimal_job();
    job["my_team_field"] = json!({"owner": "data"});
    job["kubernetes_worker_antiaffinity"] = json!(true);
    let v = validate_job(&job, &ctx()).unwrap();
    assert_eq!(
        v.extra.get("my_team_field"),
        Some(&json!({"owner": "data"}))
    );
    assert_eq!(
        v.extra.get("kubernetes_worker_antiaffinity"),
        Some(&json!(true))
    );
    let back = serde_json::to_value(&v).unwrap();
    assert_eq!(back["my_team_field"]["owner"], "data");
}

/// Teraslice's `examples/k8s` style job, with every Kubernetes field in use.
#[test]
fn a_kubernetes_example_job_validates() {
    let job = json!({
        "name": "example-data-generator-job",
        "lifecycle": "once",
        "workers": 2,
        "assets": ["example-asset", "elasticsearch", "standard"],
        "labels": {"key1": "value1"},
        "env_vars": {"LOG_FORMAT": "json"},
        "targets": [{"key": "zone", "value": "west", "constraint": "preferred"}],
        "volumes": [{"name": "task-pv-claim", "path": "/srv"}],
        "external_ports": [9090, {"name": "metrics", "port": 3333}],
        "resources_requests_cpu": 0.25,
        "resources_limits_cpu": 1,
        "resources_requests_memory": 128000000,
        "resources_limits_memory": 536870912,
        "ephemeral_storage": true,
        "kubernetes_image": "teraslice-k8sdev:alt",
        "pod_spec_override": {"initContainers": [{"name": "init-hello-world", "image": "busybox:1.28"}]},
        "log_level": "debug",
        "operations": [
            {"_op": "data_generator", "size": 5000000},
            {"_op": "example", "type": "string"},
            {"_op": "delay", "ms": 30000},
            {"_op": "elasticsearch_bulk", "index": "terak8s-example-data", "size": 5000}
        ]
    });
    let mut c = ctx();
    c.kubernetes_overrides_enabled = true;
    c.cluster_manager_type = ClusterManagerType::KUBERNETES;
    let v = validate_job(&job, &c).unwrap();
    assert_eq!(v.workers, 2);
    assert_eq!(v.targets[0].constraint, Some(TargetConstraint::Preferred));
    assert_eq!(
        v.external_ports,
        Some(vec![
            ExternalPort::Port(9090),
            ExternalPort::Named {
                name: "metrics".into(),
                port: 3333
            }
        ])
    );
    assert_eq!(v.resources_limits_memory, Some(536_870_912.0));
    assert_eq!(v.log_level, Some(LogLevel::Debug));
    assert_eq!(v.volumes[0].name, "task-pv-claim");
    assert_eq!(
        v.labels.unwrap().get("key1").map(String::as_str),
        Some("value1")
    );
    assert_eq!(v.operations.len(), 4);
}

/// Stored jobs are validated again (on start, on update): the output must validate to itself.
#[test]
fn a_validated_job_validates_again_unchanged() {
    let mut job = minimal_job();
    job["labels"] = json!({"team": "data"});
    job["external_ports"] = json!([9090]);
    job["job_id"] = json!("7ba9afb0-417a-4936-adc5-b15e31d1edd1");
    let first = validate_job(&job, &ctx()).unwrap();
    let stored = serde_json::to_value(&first).unwrap();
    assert_eq!(validate_job(&stored, &ctx()).unwrap(), first);
}

/// A catalog that knows data_generator, noop and stdout, and checks `size`.
struct Catalog;

impl OpCatalog for Catalog {
    fn op_names(&self) -> Vec<String> {
        ["noop", "data_generator", "stdout"]
            .map(String::from)
            .to_vec()
    }
    fn validate_op(
        &self,
        role: OpRole,
        op: &mut Map<String, Value>,
        _job: &Value,
    ) -> Vec<ValidationError> {
        let is_reader = op.get("_op") == Some(&json!("data_generator"));
        if is_reader != (role == OpRole::Reader) {
            return vec![ValidationError {
                path: "_op".into(),
                message: format!("wrong role {role:?}"),
            }];
        }
        if is_reader {
            match op.get("size") {
                None => {
                    op.insert("size".into(), json!(1000));
                }
                Some(Value::Number(_)) => {}
                Some(_) => {
                    return vec![ValidationError {
                        path: "size".into(),
                        message: "must be a number".into(),
                    }]
                }
            }
        }
        Vec::new()
    }
    fn validate_api(&self, api: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        match api.get("_name").and_then(Value::as_str) {
            Some("stdout_api") => Vec::new(),
            _ => vec![ValidationError {
                path: "_name".into(),
                message: "unknown api".into(),
            }],
        }
    }
}

fn catalog_ctx() -> JobValidationContext {
    let mut c = ctx();
    c.ops = Some(Arc::new(Catalog));
    c
}

/// Teraslice's `gen-tenk-noop` sample job with an API, through a catalog.
#[test]
fn a_teraslice_sample_job_validates_and_ops_get_their_defaults() {
    let job = json!({
        "name": "gen-tenk-noop",
        "lifecycle": "persistent",
        "workers": 1,
        "apis": [{"_name": "stdout_api"}],
        "operations": [
            {"_op": "data_generator"},
            {"_op": "noop"},
            {"_op": "stdout", "_api_name": "stdout_api", "_connection": "default"}
        ]
    });
    let v = validate_job(&job, &catalog_ctx()).unwrap();
    assert_eq!(v.lifecycle, Lifecycle::Persistent);
    assert_eq!(v.operations[0].get("size"), Some(&json!(1000)));
    assert_eq!(v.operations[2].api_name(), Some("stdout_api"));
    assert_eq!(
        v.api("stdout_api")
            .and_then(|a| a.get("_dead_letter_action")),
        Some(&json!("throw"))
    );
}

#[test]
fn op_and_api_problems_come_back_under_their_paths() {
    let job = json!({
        "apis": [{"_name": "mystery_api"}],
        "operations": [
            {"_op": "data_generator", "size": "big"},
            {"_op": "data_generator"},
            {"_op": "kafka_sender@kafka-assets"}
        ]
    });
    let errors = validate_job(&job, &catalog_ctx()).unwrap_err().0;
    let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        vec![
            "apis[0]._name: unknown api",
            "operations[0].size: must be a number",
            "operations[1]._op: wrong role Processor",
            "operations[2]._op: unknown operation \"kafka_sender\", must be one of data_generator, noop, stdout",
        ]
    );
}

#[test]
fn labels_kubernetes_cannot_take_are_kept_for_the_backend_to_sanitize() {
    let mut job = json!({"operations": [{"_op": "data_generator"}, {"_op": "noop"}]});
    let long = "k".repeat(70);
    job["labels"] = json!({"key 1": "data eng", "a/b": "", long.clone(): "x"});
    let v = validate_job(&job, &ctx()).expect("sanitized later, not refused");
    let labels = v.labels.unwrap_or_default();
    assert_eq!(labels.get("key 1").map(String::as_str), Some("data eng"));
    assert!(labels.contains_key(&long));
    use super::k8s_names::sanitize_label_part as clean;
    assert_eq!(clean("key 1"), "key-1");
    assert_eq!(clean("key2%"), "key2");
    assert_eq!(clean(&long).len(), 63);
    assert_eq!(clean("data eng"), "data-eng");
    assert_eq!(
        super::k8s_names::dns_subdomain_from("ts_dev.1-worker"),
        "ts-dev.1-worker"
    );
}
