//! A master built with this crate's ops validates and runs a job that uses them: submitted
//! through the HTTP API, its controller and workers are `teraslice-with-ops` processes (native
//! backend) that slice with `sequence` and process with `fizzbuzz`.
use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use teraslice::{Extensions, Master, MasterOptions};
use teraslice_core::config::SystemConfig;

async fn start_master(dir: &std::path::Path) -> Master {
    let path = dir.join("teraslice.yaml");
    let yaml = format!(
        "teraslice:\n  name: opstest\n  cluster_manager_type: native\n  data_dir: {}\n  workers: 4\n  slicer_port_range: '48300:48399'\n  shutdown_timeout: 10000\n",
        dir.join("data").display()
    );
    std::fs::write(&path, yaml).expect("write config");
    let mut ops = teraslice::default_ops();
    teraslice_example_op_crate::register(&mut ops);
    let mut opts = MasterOptions::new(SystemConfig::from_path(&path).expect("config"));
    opts.extensions = Extensions {
        ops,
        ..Extensions::default()
    };
    opts.config_path = Some(path);
    opts.native_program = Some(env!("CARGO_BIN_EXE_teraslice-with-ops").into());
    opts.listen = Some(([127, 0, 0, 1], 0).into());
    Master::start(opts).await.expect("master starts")
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request reaches the master");
    let status = res.status().as_u16();
    (status, res.json().await.expect("JSON answer"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_of_sequence_and_fizzbuzz_runs_through_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let master = start_master(dir.path()).await;
    let base = format!("http://{}", master.local_addr());
    let http = reqwest::Client::new();
    let out = dir.path().join("out");
    let spec = json!({
        "name": "fizzbuzz",
        "workers": 2,
        "operations": [
            {"_op": "sequence", "size": 300, "per_slice": 40},
            {"_op": "fizzbuzz"},
            {"_op": "file_exporter", "path": out.display().to_string(), "format": "ldjson", "file_per_slice": false}
        ]
    });
    let (status, started) = send(http.post(format!("{base}/jobs")).json(&spec)).await;
    assert_eq!(status, 200, "{started}");
    let ex_id = started["ex_id"].as_str().expect("an execution").to_string();
    let mut ex = Value::Null;
    for _ in 0..600 {
        ex = send(http.get(format!("{base}/ex/{ex_id}"))).await.1;
        if ["completed", "failed", "terminated"].contains(&ex["_status"].as_str().unwrap_or("")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ex["_status"], "completed", "{ex}");
    assert_eq!(
        ex["_slicer_stats"]["processed"], 8,
        "300 numbers, 40 a slice: {ex}"
    );
    let mut said = BTreeMap::new();
    for file in std::fs::read_dir(&out).expect("output directory").flatten() {
        let text = std::fs::read_to_string(file.path()).expect("output file");
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).expect("ldjson line");
            said.insert(record["n"].as_u64().expect("n"), record["says"].clone());
        }
    }
    assert_eq!(said.len(), 300, "every number once");
    assert_eq!(
        (
            said[&9].clone(),
            said[&10].clone(),
            said[&30].clone(),
            said[&31].clone()
        ),
        (json!("fizz"), json!("buzz"), json!("fizzbuzz"), json!("31"))
    );
    master.shutdown().await.expect("master stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_a_bad_op_config_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let master = start_master(dir.path()).await;
    let base = format!("http://{}", master.local_addr());
    let spec = json!({
        "name": "no-size",
        "operations": [{"_op": "sequence"}, {"_op": "fizzbuzz", "target": ""}]
    });
    let (status, body) = send(
        reqwest::Client::new()
            .post(format!("{base}/jobs"))
            .json(&spec),
    )
    .await;
    let text = body.to_string();
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("operations[0].size") && text.contains("is required"),
        "{text}"
    );
    assert!(text.contains("operations[1].target"), "{text}");
    master.shutdown().await.expect("master stops");
}
