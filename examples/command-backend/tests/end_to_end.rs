//! `cluster_manager_type: command` on a real master: a job's execution controller and workers
//! are `teraslice-command` processes started through `sh -c`, and the job completes.
use std::time::Duration;

use serde_json::{json, Value};
use teraslice::{Extensions, Master, MasterOptions};
use teraslice_core::backend_factory::BackendFactory;
use teraslice_core::config::SystemConfig;

const PROGRAM: &str = env!("CARGO_BIN_EXE_teraslice-command");

fn config(dir: &std::path::Path, backend: &str) -> SystemConfig {
    let yaml = format!(
        "teraslice:\n  name: cmdtest\n  cluster_manager_type: {backend}\n  data_dir: {data}\n  slicer_port_range: '48200:48299'\n  shutdown_timeout: 10000\n  command:\n    program: {PROGRAM}\n    template: [sh, -c, 'exec \"$0\" \"$@\"', '{{program}}', '{{subcommand}}']\n",
        data = dir.join("data").display()
    );
    SystemConfig::from_yaml_str(&yaml).expect("config")
}

fn options(config: SystemConfig) -> MasterOptions {
    let mut backends = BackendFactory::new();
    teraslice_example_command_backend::register(&mut backends);
    let mut opts = MasterOptions::new(config);
    opts.extensions = Extensions {
        backends,
        ..Extensions::default()
    };
    opts.listen = Some(([127, 0, 0, 1], 0).into());
    opts
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    let res = http
        .get(url)
        .send()
        .await
        .expect("request reaches the master");
    res.json().await.expect("JSON answer")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_runs_to_completed_through_the_command_template() {
    let dir = tempfile::tempdir().expect("temp dir");
    let master = Master::start(options(config(dir.path(), "command")))
        .await
        .expect("master starts with the command backend");
    let base = format!("http://{}", master.local_addr());
    let http = reqwest::Client::new();
    let spec = json!({
        "name": "through-sh",
        "workers": 2,
        "operations": [{"_op": "data_generator", "size": 500}, {"_op": "noop"}]
    });
    let res = http.post(format!("{base}/jobs")).json(&spec).send().await;
    let started: Value = res.expect("submit").json().await.expect("JSON answer");
    let ex_id = started["ex_id"].as_str().expect("an execution").to_string();
    let mut ex = Value::Null;
    for _ in 0..600 {
        ex = get(&http, &format!("{base}/ex/{ex_id}")).await;
        if ["completed", "failed", "terminated"].contains(&ex["_status"].as_str().unwrap_or("")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ex["_status"], "completed", "{ex}");
    assert_eq!(ex["slicer_hostname"], "127.0.0.1", "{ex}");
    // Both workers were commands of this backend and wrote their logs where it said.
    let logs = dir.path().join("data/command").join(&ex_id);
    for name in ["ec.log", "worker-1.log", "worker-2.log"] {
        assert!(logs.join(name).is_file(), "{name} in {}", logs.display());
    }
    master.shutdown().await.expect("master stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_backend_name_fails_the_start_listing_the_registered_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Master::start(options(config(dir.path(), "nomad")))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("no cluster backend \"nomad\" in this build, must be one of native, kubernetes (alias kubernetesV2), mock, command"),
        "{err}"
    );
}
