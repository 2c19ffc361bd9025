//! Golden JSON of the Job, Service and Deployment built for each example job (examples/k8s) and
//! for system-config variants. Regenerate with `TERASLICE_UPDATE_GOLDEN=1 cargo test -p
//! teraslice-backend-k8s --test golden` and review the diff.
mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use teraslice_backend_k8s::manifests::{self, Owner};
use teraslice_backend_k8s::K8sConfig;

use common::{example_execution, system_config, BASE_CONFIG};

const UPDATE_ENV: &str = "TERASLICE_UPDATE_GOLDEN";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn render(cfg: &K8sConfig, job_file: &str, overrides: Value) -> Value {
    let ex = example_execution(job_file, overrides, cfg);
    let owner = Owner {
        name: manifests::controller_job_name(&ex),
        uid: "11111111-2222-4333-8444-555555555555".into(),
    };
    let job = manifests::controller_job(cfg, &ex).expect("EC job");
    let service = manifests::controller_service(cfg, &ex, &owner);
    let deployment =
        manifests::worker_deployment(cfg, &ex, ex.job.workers, &owner).expect("worker deployment");
    let out = json!({"job": job, "service": service, "deployment": deployment});
    out
}

fn check(case: &str, actual: &Value) {
    let path = golden_dir().join(format!("{case}.json"));
    let pretty = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::write(&path, pretty).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with {UPDATE_ENV}=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == pretty,
        "{case}: the generated objects differ from {}; run with {UPDATE_ENV}=1 and review the diff.\n--- generated ---\n{pretty}",
        path.display()
    );
}

#[test]
fn every_example_job_matches_its_golden_file() {
    let cfg = K8sConfig::from_system(&system_config(BASE_CONFIG)).expect("config");
    let mut seen = 0;
    let mut files: Vec<_> = std::fs::read_dir(common::examples_dir())
        .expect("examples/k8s")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().and_then(|n| n.to_str()).expect("name");
        let case = file.trim_end_matches(".json");
        check(case, &render(&cfg, file, json!({})));
        seen += 1;
    }
    assert!(
        seen >= 5,
        "expected the example jobs of examples/k8s, found {seen}"
    );
}

#[test]
fn config_variants_match_their_golden_files() {
    let variants = [
        (
            "config-antiaffinity-pull-secret-assets-pvc",
            "kubernetes_worker_antiaffinity: true\n  kubernetes_image_pull_secret: regcred\n  assets_volume: teraslice-assets\n",
            "example-job-targets.json",
            json!({}),
        ),
        (
            "config-ec-targets-and-mixed-targets",
            "execution_controller_targets: [{key: node-pool, value: stable}]\n  cpu: 2\n  memory: 2147483648\n",
            "example-job.json",
            json!({"targets": [
                {"key": "zone", "value": "west"},
                {"key": "region", "value": "texas", "constraint": "accepted"},
                {"key": "disk", "value": "ssd", "constraint": "preferred"}
            ], "external_ports": [9090, {"name": "metrics", "port": 3333}],
               "env_vars": {"FOO": "baz", "NEW": "1"}}),
        ),
        (
            "job-prom-metrics",
            "",
            "example-job.json",
            json!({"prom_metrics_enabled": true, "prom_metrics_port": 3334}),
        ),
        (
            "overrides-disabled",
            "kubernetes_overrides_enabled: false\n",
            "example-job.json",
            json!({}),
        ),
        (
            "long-dotted-name",
            "",
            "example-job.json",
            json!({"name": "My.Very_Long job name that keeps going and going", "labels": {"team": "data-eng"}}),
        ),
    ];
    for (case, extra, file, overrides) in variants {
        let yaml = format!("{BASE_CONFIG}  {extra}");
        let cfg = K8sConfig::from_system(&system_config(&yaml)).expect(case);
        check(case, &render(&cfg, file, overrides));
    }
}
