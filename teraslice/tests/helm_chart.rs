//! charts/teraslice with the Helm of `cargo xtask helm` (TERASLICE_HELM, set by `cargo xtask
//! test`; unset, these tests fail): `helm lint`, `helm template` against golden files for the
//! default values and for a values.yaml written for Teraslice's chart, the config teraslice-rs
//! reads from the rendered ConfigMaps, and the errors for values it refuses. Regenerate the
//! golden files with `TERASLICE_UPDATE_GOLDEN=1 cargo test -p teraslice --test helm_chart` and
//! review the diff. `helm install` on the real node is in `k8s_node/helm.rs`.
mod helm_support;

use helm_support::{chart_dir, helm_fails, helm_ok, tests_dir};
use teraslice_core::config::{StateConnectionType, SystemConfig};

const UPDATE_ENV: &str = "TERASLICE_UPDATE_GOLDEN";

fn teraslice_values() -> String {
    tests_dir()
        .join("teraslice-values.yaml")
        .display()
        .to_string()
}

/// `helm template <release> charts/teraslice -n <namespace> <extra>`.
fn template(release: &str, namespace: &str, extra: &[&str]) -> String {
    let chart = chart_dir().display().to_string();
    let mut args = vec!["template", release, chart.as_str(), "-n", namespace];
    args.extend_from_slice(extra);
    helm_ok(&args)
}

fn check_golden(case: &str, actual: &str) {
    let path = tests_dir().join("golden").join(format!("{case}.yaml"));
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with {UPDATE_ENV}=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "helm template differs from {} at line {}:\n  golden: {:?}\n  now:    {:?}\n\
             run with {UPDATE_ENV}=1 and review the diff",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// The `teraslice.yaml` of ConfigMap `<role>` in rendered output, parsed as teraslice-rs does.
fn rendered_config(release: &str, namespace: &str, role: &str, extra: &[&str]) -> SystemConfig {
    let file = format!("templates/configmap-{role}.yaml");
    let mut args = vec!["--show-only", file.as_str()];
    args.extend_from_slice(extra);
    let out = template(release, namespace, &args);
    let body: Vec<&str> = out
        .lines()
        .skip_while(|l| l.trim() != "teraslice.yaml: |")
        .skip(1)
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    assert!(!body.is_empty(), "no teraslice.yaml in:\n{out}");
    SystemConfig::from_yaml_str(&body.join("\n"))
        .unwrap_or_else(|e| panic!("ConfigMap {role} is not a config teraslice-rs reads: {e}"))
}

#[test]
fn lint_passes_strict_with_default_and_teraslice_values() {
    let chart = chart_dir().display().to_string();
    let values = teraslice_values();
    for extra in [vec![], vec!["-f", values.as_str()]] {
        let mut args = vec!["lint", "--strict", chart.as_str()];
        args.extend(extra);
        let out = helm_ok(&args);
        assert!(out.contains("0 chart(s) failed"), "helm lint: {out}");
    }
}

#[test]
fn template_with_default_values_matches_golden() {
    check_golden("default", &template("teraslice", "ts-dev1", &[]));
}

#[test]
fn template_with_teraslice_chart_values_matches_golden() {
    let values = teraslice_values();
    check_golden(
        "teraslice-values",
        &template("ts", "ts-prod", &["-f", &values]),
    );
}

#[test]
fn teraslice_values_give_configs_teraslice_rs_reads() {
    let values = teraslice_values();
    let master = rendered_config("ts", "ts-prod", "master", &["-f", &values]);
    let ts = &master.teraslice;
    assert!(ts.master);
    assert_eq!(ts.name, "ts");
    // kubernetesV2 in the values: read as kubernetes.
    assert_eq!(ts.cluster_manager_type.as_str(), "kubernetes");
    assert_eq!(ts.kubernetes_namespace, "ts-prod");
    assert_eq!(
        ts.kubernetes_image.as_deref(),
        Some("registry.example/teraslice-rs:0.1.0")
    );
    assert_eq!(ts.kubernetes_config_map_name, "ts-teraslice-worker");
    assert_eq!(ts.assets_volume.as_deref(), Some("ts-teraslice-assets"));
    assert_eq!(
        ts.kubernetes_priority_class_name.as_deref(),
        Some("ts-teraslice")
    );
    assert!(ts.kubernetes_overrides_enabled);
    assert_eq!(
        ts.state.connection_type,
        StateConnectionType::ElasticsearchNext
    );
    assert_eq!(ts.master_hostname, "ts-teraslice");
    assert!(master
        .terafoundation
        .connectors
        .contains_key("elasticsearch-next"));

    let worker = rendered_config("ts", "ts-prod", "worker", &["-f", &values]);
    assert!(!worker.teraslice.master);
    assert_eq!(worker.teraslice.name, "ts", "the pods' cluster name");
    assert_eq!(worker.teraslice.master_hostname, "ts-teraslice");
    assert_eq!(
        worker.teraslice.state.connection_type,
        StateConnectionType::ElasticsearchNext
    );
}

#[test]
fn a_cluster_name_set_in_master_values_names_the_pods_config_too() {
    let set = [
        "--set",
        "master.teraslice.name=prod_cluster",
        "--set",
        "terafoundation.connectors.elasticsearch-next.default.node[0]=http://os:9200",
    ];
    let worker = rendered_config("ts", "ts-prod", "worker", &set);
    assert_eq!(worker.teraslice.name, "prod_cluster");
    let mut args = vec!["--show-only", "templates/deployment.yaml"];
    args.extend_from_slice(&set);
    let deployment = template("ts", "ts-prod", &args);
    assert!(
        deployment.contains("app.kubernetes.io/instance: prod_cluster"),
        "the master pod carries the label the backend watches:\n{deployment}"
    );
}

#[test]
fn values_teraslice_rs_cannot_run_are_refused_naming_the_key() {
    let cases: [(&[&str], &str); 3] = [
        (&["--set", "replicaCount=2"], "replicaCount is 2"),
        (
            &[
                "--set",
                "terafoundation.prom_metrics_enabled=true",
                "--set",
                "exporter.enabled=true",
            ],
            "terafoundation.prom_metrics_enabled and exporter.enabled",
        ),
        (
            &[
                "--set",
                "priorityClass.create=true",
                "--set",
                "master.teraslice.kubernetes_priority_class_name=high",
            ],
            "priorityClass.create is true and master.teraslice.kubernetes_priority_class_name",
        ),
    ];
    let chart = chart_dir().display().to_string();
    for (set, message) in cases {
        let mut args = vec!["template", "ts", chart.as_str()];
        args.extend_from_slice(set);
        let err = helm_fails(&args);
        assert!(err.contains(message), "{set:?}: {err}");
    }
}

#[test]
fn the_charts_app_version_is_the_release() {
    let chart = std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml");
    let want = format!("appVersion: \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        chart.lines().any(|l| l == want),
        "Chart.yaml should say {want} (the default image tag)"
    );
}

/// The labels of `path` (a `spec.template` object) in backend-k8s's golden `example-job.json`.
fn backend_pod_labels(object: &str) -> serde_json::Map<String, serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../backend-k8s/tests/golden/example-job.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let golden: serde_json::Value = serde_json::from_str(&text).expect("golden JSON");
    golden[object]["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap_or_else(|| panic!("no pod labels in the golden {object}"))
        .clone()
}

#[test]
fn the_pod_monitor_selects_the_pods_the_backend_labels() {
    // backend-k8s's golden objects are those of cluster ts-dev1.
    let out = template(
        "ts-dev1",
        "ts-dev1",
        &[
            "--show-only",
            "templates/podmonitor.yaml",
            "--set",
            "podMonitor.enabled=true",
            "--set",
            "nameOverride=other",
        ],
    );
    let selector: Vec<(String, String)> = out
        .lines()
        .skip_while(|l| l.trim() != "matchLabels:")
        .skip(1)
        .take_while(|l| l.starts_with("      "))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(selector.len(), 2, "the PodMonitor's matchLabels:\n{out}");
    let targets: Vec<&str> = out
        .lines()
        .skip_while(|l| l.trim() != "podTargetLabels:")
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .collect();
    assert!(targets.contains(&"teraslice.terascope.io/jobId"), "{out}");
    for object in ["job", "deployment"] {
        let labels = backend_pod_labels(object);
        for (key, value) in &selector {
            assert_eq!(
                labels.get(key).and_then(|v| v.as_str()),
                Some(value.as_str()),
                "the {object}'s pods lack {key}={value}: {labels:?}"
            );
        }
        for key in &targets {
            assert!(labels.contains_key(*key), "the {object}'s pods lack {key}");
        }
    }
}

#[test]
fn the_execution_pods_get_a_tokenless_service_account_and_the_master_its_api_tokens() {
    let values = teraslice_values();
    let base = ["-f", values.as_str()];
    let master = rendered_config("ts", "ts-prod", "master", &base);
    assert_eq!(
        master
            .teraslice
            .security
            .kubernetes_execution_service_account
            .as_deref(),
        Some("ts-teraslice-execution")
    );
    assert!(
        master.teraslice.security.api_tokens_file.is_none(),
        "no Secret named: the API stays open as Teraslice's"
    );
    let accounts = template(
        "ts",
        "ts-prod",
        &[
            "--show-only",
            "templates/serviceaccount.yaml",
            "-f",
            &values,
        ],
    );
    let execution = accounts
        .split("\n---")
        .find(|doc| doc.contains("name: ts-teraslice-execution"))
        .unwrap_or_else(|| panic!("no execution ServiceAccount in:\n{accounts}"));
    assert!(
        execution.contains("automountServiceAccountToken: false"),
        "{execution}"
    );

    let secret = [
        "-f",
        values.as_str(),
        "--set",
        "apiTokens.existingSecret=ts-tokens",
    ];
    let master = rendered_config("ts", "ts-prod", "master", &secret);
    let file = master
        .teraslice
        .security
        .api_tokens_file
        .as_ref()
        .map(|p| p.display().to_string());
    assert_eq!(file.as_deref(), Some("/app/secrets/tokens"));
    let mut args = vec!["--show-only", "templates/deployment.yaml"];
    args.extend_from_slice(&secret);
    let deployment = template("ts", "ts-prod", &args);
    assert!(deployment.contains("secretName: ts-tokens"), "{deployment}");
    assert!(
        deployment.contains("mountPath: /app/secrets"),
        "{deployment}"
    );
}
