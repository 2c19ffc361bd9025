//! Bad jobs, one problem each: the exact path reported and a fragment of what is allowed.
use serde_json::{json, Value};

use super::tests::{ctx, minimal_job};
use super::validate_job;

/// `minimal_job()` with `patch` merged into its top level.
fn with(patch: Value) -> Value {
    let mut job = minimal_job();
    if let (Some(obj), Value::Object(p)) = (job.as_object_mut(), patch) {
        obj.extend(p);
    }
    job
}

#[test]
fn each_bad_job_reports_its_path_and_what_is_allowed() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(json!({"workers": -3})),
            "workers",
            "must be an integer >= 1, got -3",
        ),
        (
            with(json!({"workers": 0})),
            "workers",
            "must be an integer >= 1, got 0",
        ),
        (
            with(json!({"workers": 2.5})),
            "workers",
            "must be an integer >= 1, got 2.5",
        ),
        (
            with(json!({"workers": "many"})),
            "workers",
            "must be an integer >= 1, got \"many\"",
        ),
        (
            with(json!({"slicers": null})),
            "slicers",
            "must be an integer >= 1, got null",
        ),
        (
            with(json!({"max_retries": -1})),
            "max_retries",
            "must be an integer >= 0",
        ),
        (
            with(json!({"name": ""})),
            "name",
            "required, must be a non-empty string",
        ),
        (
            with(json!({"lifecycle": "forever"})),
            "lifecycle",
            "must be one of once, persistent, got \"forever\"",
        ),
        (
            with(json!({"active": "yes"})),
            "active",
            "must be true or false",
        ),
        (
            with(json!({"analytics": 1})),
            "analytics",
            "must be true or false",
        ),
        (
            with(json!({"autorecover": "no"})),
            "autorecover",
            "must be true or false",
        ),
        (
            with(json!({"stateful": "true"})),
            "stateful",
            "must be true or false",
        ),
        (
            with(json!({"probation_window": "soon"})),
            "probation_window",
            "\"<integer> <unit>\"",
        ),
        (
            with(json!({"assets": "standard"})),
            "assets",
            "must be null or an array",
        ),
        (
            with(json!({"assets": ["ok", 3]})),
            "assets[1]",
            "asset id, name or name:version",
        ),
        (
            with(json!({"log_level": "loud"})),
            "log_level",
            "must be one of trace, debug, info, warn, error, fatal",
        ),
        (
            with(json!({"operations": [{"_op": "data_generator"}]})),
            "operations",
            "must be an array of at least 2 objects (a reader and a processor), got 1",
        ),
        (
            with(json!({"operations": {"_op": "x"}})),
            "operations",
            "must be an array of at least 2 objects (a reader and a processor), got an object",
        ),
        (
            with(json!({"operations": [{"_op": "data_generator"}, {"size": 1}]})),
            "operations[1]._op",
            "required, must be a non-empty string",
        ),
        (
            with(json!({"operations": [{"_op": "data_generator"}, 7]})),
            "operations[1]",
            "must be an object, got 7",
        ),
        (
            with(
                json!({"operations": [{"_op": "data_generator", "_encoding": "xml"}, {"_op": "noop"}]}),
            ),
            "operations[0]._encoding",
            "must be one of json, raw",
        ),
        (
            with(
                json!({"operations": [{"_op": "data_generator"}, {"_op": "noop", "_dead_letter_action": 5}]}),
            ),
            "operations[1]._dead_letter_action",
            "must be a string or null",
        ),
        (
            with(
                json!({"operations": [{"_op": "data_generator", "_api_name": "y"}, {"_op": "noop"}]}),
            ),
            "operations[0]._api_name",
            "no api named \"y\" in apis (have: none)",
        ),
        (
            with(
                json!({"operations": [{"_op": "data_generator"}, {"_op": "noop"}, {"_op": "noop", "_connection": "foo"}]}),
            ),
            "operations[2]._connection",
            "no connector \"foo\" in terafoundation.connectors (have: default)",
        ),
        (
            with(json!({"apis": {"_name": "x"}})),
            "apis",
            "must be an array of objects",
        ),
        (
            with(json!({"apis": [{"size": 3}]})),
            "apis[0]._name",
            "required, must be a non-empty string",
        ),
        (
            with(json!({"apis": [{"_name": "x"}, {"_name": "x"}]})),
            "apis[1]._name",
            "duplicate api name \"x\"",
        ),
        (
            with(json!({"apis": [{"_name": "x", "connection": "nope"}]})),
            "apis[0].connection",
            "no connector \"nope\"",
        ),
        (
            with(json!({"labels": ["a"]})),
            "labels",
            "must be an object",
        ),
        (
            with(json!({"labels": {"team": 5}})),
            "labels.team",
            "must be a string",
        ),
        (
            with(json!({"labels": {"%%": "v"}})),
            "labels",
            "cannot become a Kubernetes label name",
        ),
        (
            with(json!({"env_vars": {"1BAD": "x"}})),
            "env_vars.1BAD",
            "must not start with a digit",
        ),
        (
            with(json!({"env_vars": {"GOOD": ""}})),
            "env_vars.GOOD",
            "must be a non-empty string",
        ),
        (
            with(json!({"env_vars": {"GOOD": 5}})),
            "env_vars.GOOD",
            "must be a non-empty string, got 5",
        ),
        (
            with(json!({"targets": [{"key": "zone"}]})),
            "targets[0].value",
            "required, must be a string",
        ),
        (
            with(json!({"targets": [{"value": "west"}]})),
            "targets[0].key",
            "required, must be a non-empty string",
        ),
        (
            with(json!({"targets": [{"key": "zone", "value": "west", "constraint": "maybe"}]})),
            "targets[0].constraint",
            "must be one of required, preferred, accepted",
        ),
        (
            with(json!({"targets": [{"key": "bad key", "value": "west"}]})),
            "targets[0].key",
            "label key \"bad key\"",
        ),
        (
            with(json!({"targets": "zone"})),
            "targets",
            "must be an array of objects {key, value",
        ),
        (
            with(json!({"volumes": [{"name": "Data_Vol", "path": "/srv"}]})),
            "volumes[0].name",
            "lowercase alphanumeric",
        ),
        (
            with(json!({"volumes": [{"name": "data"}]})),
            "volumes[0].path",
            "required, must be a non-empty string",
        ),
        (
            with(json!({"external_ports": [45680]})),
            "external_ports[0]",
            "45680 is reserved",
        ),
        (
            with(json!({"external_ports": [{"name": "x", "port": 45680}]})),
            "external_ports[0].port",
            "45680 is reserved",
        ),
        (
            with(json!({"external_ports": [70000]})),
            "external_ports[0]",
            "between 1 and 65535",
        ),
        (
            with(json!({"external_ports": [{"name": "Metrics", "port": 3333}]})),
            "external_ports[0].name",
            "port name \"Metrics\"",
        ),
        (
            with(json!({"external_ports": [{"name": "metrics"}]})),
            "external_ports[0].port",
            "required",
        ),
        (
            with(json!({"pod_spec_override": {"initContainers": []}})),
            "pod_spec_override",
            "kubernetes_overrides_enabled: true",
        ),
        (
            with(json!({"pod_spec_override": "x"})),
            "pod_spec_override",
            "must be an object",
        ),
        (
            with(json!({"cpu": -1})),
            "cpu",
            "must be a number >= 0, got -1",
        ),
        (
            with(json!({"memory": "1Gi"})),
            "memory",
            "must be a number >= 0, got \"1Gi\"",
        ),
        (
            with(json!({"cpu": 1, "resources_limits_cpu": 2})),
            "cpu",
            "cannot be combined with resources_requests_cpu or resources_limits_cpu",
        ),
        (
            with(json!({"memory": 1, "resources_requests_memory": 2})),
            "memory",
            "cannot be combined with resources_requests_memory",
        ),
        (
            with(json!({"kubernetes_image": 3})),
            "kubernetes_image",
            "must be a string or null",
        ),
        (
            with(json!({"prom_metrics_port": 0})),
            "prom_metrics_port",
            "between 1 and 65535",
        ),
        (
            with(json!({"prom_metrics_enabled": "on"})),
            "prom_metrics_enabled",
            "must be true or false",
        ),
        (
            with(json!({"kubernetes_worker_antiaffinity": "on"})),
            "kubernetes_worker_antiaffinity",
            "must be true or false",
        ),
    ];
    let context = ctx();
    for (job, path, fragment) in cases {
        let errors = match validate_job(&job, &context) {
            Ok(_) => panic!("expected a problem at {path}, job was accepted: {job}"),
            Err(e) => e.0,
        };
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(fragment)),
            "expected `{path}: …{fragment}…`, got {errors:?}"
        );
        assert_eq!(
            errors.len(),
            1,
            "one problem expected for {path}, got {errors:?}"
        );
    }
}

#[test]
fn a_job_that_is_not_an_object_is_refused() {
    let err = validate_job(&json!([1, 2]), &ctx()).unwrap_err();
    assert_eq!(err.0[0].path, "job");
    assert!(err.0[0].message.contains("must be a JSON object"));
}
