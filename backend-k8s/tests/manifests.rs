//! What pods are told: their execution's id and where the controller is (not the record), and the errors a
//! user sees for jobs that cannot become pods.
mod common;

use serde_json::{json, Value};
use teraslice_backend_k8s::manifests::{self, Owner};
use teraslice_backend_k8s::K8sConfig;

use common::{example_execution, system_config, BASE_CONFIG};

/// The value of env `name` in container 0 of `spec`.
fn env_of<'a>(spec: &'a Value, name: &str) -> Option<&'a str> {
    spec["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

#[test]
fn pods_get_the_execution_id_and_the_controller_address_but_not_the_record() {
    let cfg = K8sConfig::from_system(&system_config(BASE_CONFIG)).expect("config");
    let ex = example_execution("example-job.json", json!({}), &cfg);
    let owner = Owner {
        name: "owner".into(),
        uid: "uid".into(),
    };
    let job =
        serde_json::to_value(manifests::controller_job(&cfg, &ex).expect("job")).expect("json");
    let dep =
        serde_json::to_value(manifests::worker_deployment(&cfg, &ex, 2, &owner).expect("dep"))
            .expect("json");
    for spec in [
        &job["spec"]["template"]["spec"],
        &dep["spec"]["template"]["spec"],
    ] {
        assert_eq!(env_of(spec, "ex_id"), Some(ex.ex_id.as_str()));
        assert_eq!(
            env_of(spec, "EX"),
            None,
            "the record is loaded from the store"
        );
        assert_eq!(env_of(spec, "slicer_port"), Some("45680"));
        assert_eq!(
            env_of(spec, "slicer_hostname"),
            Some("svc-ts-exc-example-data-generator-job-7ba9afb0-417a.ts-dev1")
        );
        // Controllers and workers never call the Kubernetes API: no token is mounted.
        assert_eq!(spec["automountServiceAccountToken"], json!(false));
        assert_eq!(spec.get("serviceAccountName"), None);
    }
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["execution-controller"])
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["worker"])
    );
}

#[test]
fn pods_run_under_the_configured_execution_service_account() {
    let yaml = format!("{BASE_CONFIG}  kubernetes_execution_service_account: ts-execution\n");
    let cfg = K8sConfig::from_system(&system_config(&yaml)).expect("config");
    let ex = example_execution("example-job.json", json!({}), &cfg);
    let job =
        serde_json::to_value(manifests::controller_job(&cfg, &ex).expect("job")).expect("json");
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(spec["serviceAccountName"], json!("ts-execution"));
    assert_eq!(spec["automountServiceAccountToken"], json!(false));
}

#[test]
fn an_override_that_breaks_the_pod_spec_is_refused_naming_the_field() {
    let cfg = K8sConfig::from_system(&system_config(BASE_CONFIG)).expect("config");
    let ex = example_execution(
        "example-job.json",
        json!({"pod_spec_override": {"containers": "not a list"}}),
        &cfg,
    );
    let err = manifests::controller_job(&cfg, &ex).expect_err("invalid override");
    let msg = err.to_string();
    assert!(msg.contains("pod_spec_override"), "{msg}");
    assert!(msg.contains(&ex.ex_id), "{msg}");
}

#[test]
fn a_job_without_any_image_is_refused_with_the_keys_to_set() {
    let yaml = BASE_CONFIG.replace(
        "  kubernetes_image: teraslice:k8sdev\n",
        "  kubernetes_image: \"\"\n",
    );
    let mut cfg = K8sConfig::from_system(&system_config(&yaml)).expect("config");
    // `""` means unset, as in Teraslice's config schema: the default image.
    assert_eq!(cfg.image.as_deref(), Some("teraslice:k8sdev"));
    cfg.image = None;
    let ex = example_execution("example-job.json", json!({}), &cfg);
    let msg = manifests::controller_job(&cfg, &ex)
        .expect_err("no image")
        .to_string();
    assert!(msg.contains("teraslice.kubernetes_image"), "{msg}");
    let ex = example_execution(
        "example-job.json",
        json!({"kubernetes_image": "mine:1"}),
        &cfg,
    );
    let job = manifests::controller_job(&cfg, &ex).expect("job image");
    let image = job
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    assert_eq!(image.as_deref(), Some("mine:1"));
}

#[test]
fn the_example_configmaps_are_valid_kubernetes_configs() {
    for file in ["teraslice-master.yaml", "teraslice-worker.yaml"] {
        let text = std::fs::read_to_string(common::examples_dir().join(file)).expect("read");
        let system = system_config(&text);
        let cfg = K8sConfig::from_system(&system).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(cfg.namespace, "ts-dev1", "{file}");
        assert_eq!(cfg.cluster_label, "ts-dev1", "{file}");
        assert_eq!(cfg.image.as_deref(), Some("teraslice-k8sdev:1"), "{file}");
        assert_eq!(
            system.terafoundation.connectors["elasticsearch-next"]["default"]["node"][0],
            "http://elasticsearch:9200",
            "{file}"
        );
    }
    let master = std::fs::read_to_string(common::examples_dir().join("teraslice-master.yaml"))
        .expect("read");
    let cfg = K8sConfig::from_system(&system_config(&master)).expect("master");
    assert_eq!(
        cfg.unschedulable_timeout,
        std::time::Duration::from_secs(180)
    );
    assert_eq!(cfg.config_map_name, "teraslice-worker");
}

#[test]
fn a_bad_unschedulable_timeout_names_the_key() {
    let yaml = format!("{BASE_CONFIG}  kubernetes_unschedulable_timeout: soon\n");
    let err = K8sConfig::from_system(&system_config(&yaml)).expect_err("bad duration");
    assert!(
        err.to_string()
            .contains("teraslice.kubernetes_unschedulable_timeout"),
        "{err}"
    );
}
