//! Prometheus metrics on the native backend: the master serves `/metrics` on
//! `prom_metrics_port`, each execution controller and worker on a free port it lists as a
//! file-SD target under `<data_dir>/metrics-targets`; the counts follow the execution and end
//! equal to its slicer stats; the text parses as the Prometheus text format.
mod common;

use common::native::{wait_for, NativeMaster};
use common::prom::{free_port, scrape, targets, Metrics};
use prometheus_parse::{Sample, Value as PromValue};
use serde_json::{json, Value};

#[tokio::test]
async fn master_controller_and_worker_metrics_follow_a_native_execution() {
    let port = free_port();
    let m = NativeMaster::start_with(&format!(
        "terafoundation:\n  prom_metrics_enabled: true\n  prom_metrics_port: {port}\n"
    ));
    let master = format!("127.0.0.1:{port}");
    let spec = json!({
        "name": "metered", "lifecycle": "persistent", "workers": 1,
        "resources_requests_cpu": 0.25, "resources_limits_cpu": 1.5,
        "resources_limits_memory": 268435456,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": 20},
            {"_op": "noop"}
        ]
    });
    let ex_id = m.submit(&spec).await;
    m.wait_workers(&ex_id, 1).await;
    let sd_dir = m.path().join("data").join("metrics-targets");
    wait_for(
        "file-SD targets of the controller and the worker",
        || async { targets(&sd_dir, &ex_id).len() == 2 },
    )
    .await;
    let found = targets(&sd_dir, &ex_id);
    let (ec, worker) = (&found["execution_controller"], &found["worker"]);
    let http = reqwest::Client::new();

    // The counts move while the execution runs.
    for (target, name) in [
        (ec, "teraslice_execution_controller_slices_processed"),
        (worker, "teraslice_worker_slices_processed"),
    ] {
        let first = scrape(&http, target).await.and_then(|s| s.value(name));
        let first = first.unwrap_or_else(|| panic!("{name} on {target}"));
        wait_for(&format!("{name} to grow past {first}"), || async {
            scrape(&http, target)
                .await
                .and_then(|s| s.value(name))
                .is_some_and(|v| v > first)
        })
        .await;
    }

    // Teraslice's info gauges and default labels.
    let w = scrape(&http, worker).await.expect("worker scrape");
    let info = w.all("teraslice_worker_worker_info");
    assert_eq!(info.len(), 1, "{}", w.text);
    for (label, want) in [
        ("name", "nativetest"),
        ("assignment", "worker"),
        ("clustering_type", "native"),
        ("ex_id", ex_id.as_str()),
        ("job_name", "metered"),
        ("platform", std::env::consts::OS),
    ] {
        assert_eq!(info[0].labels.get(label), Some(want), "{label}: {}", w.text);
    }
    // Ours: per-op durations and the records read.
    let delay = w
        .all("teraslice_worker_op_duration_seconds")
        .into_iter()
        .find(|s| s.labels.get("op") == Some("1:delay"))
        .unwrap_or_else(|| panic!("a histogram for the delay op: {}", w.text));
    assert!(matches!(&delay.value, PromValue::Histogram(b) if !b.is_empty()));
    assert!(w.value("teraslice_worker_records_read_total") >= Some(10.0));

    let e = scrape(&http, ec).await.expect("EC scrape");
    assert_eq!(
        e.all("teraslice_execution_controller_execution_controller_info")
            .len(),
        1
    );
    assert!(e.value("teraslice_execution_controller_workers_joined") >= Some(1.0));

    let mstr = scrape(&http, &master).await.expect("master scrape");
    let info = mstr.all("teraslice_master_info");
    assert_eq!(info.len(), 1, "{}", mstr.text);
    assert_eq!(info[0].labels.get("assignment"), Some("master"));
    let active = mstr.all("teraslice_controller_workers_joined");
    assert!(
        active
            .iter()
            .any(|s| s.labels.get("ex_id") == Some(ex_id.as_str())
                && s.labels.get("job_name") == Some("metered")),
        "{}",
        mstr.text
    );

    let running = mstr
        .all("teraslice_execution_status")
        .into_iter()
        .find(|s| {
            s.labels.get("ex_id") == Some(ex_id.as_str())
                && s.labels.get("status") == Some("running")
        });
    assert!(
        running.is_some_and(|s| matches!(s.value, PromValue::Gauge(v) if v == 1.0)),
        "{}",
        mstr.text
    );

    let job_id = m.execution(&ex_id).await["job_id"].clone();
    let version = m.get("/").await["teraslice_version"].clone();
    assert_execution_gauges(&mstr, &ex_id, &job_id, &version);

    // Paused, nothing is in flight: the controller, the worker and the API agree.
    m.post(&format!("/ex/{ex_id}/_pause")).await;
    wait_for(
        "the controller's and the worker's counts to agree with the API",
        || async {
            let api = m.get(&format!("/ex/{ex_id}/controller")).await;
            let processed = api[0]["processed"].as_f64();
            let ec_v = scrape(&http, ec)
                .await
                .and_then(|s| s.value("teraslice_execution_controller_slices_processed"));
            let w_v = scrape(&http, worker)
                .await
                .and_then(|s| s.value("teraslice_worker_slices_processed"));
            processed.is_some() && ec_v == processed && w_v == processed
        },
    )
    .await;

    // Stopped: the master's cluster-wide gauges equal the execution's slicer stats.
    let body = m.post(&format!("/ex/{ex_id}/_stop?timeout=20000")).await;
    assert_eq!(body["status"], "stopped", "{body}");
    let stats = m.execution(&ex_id).await["_slicer_stats"].clone();
    let mstr = scrape(&http, &master).await.expect("master scrape");
    for (gauge, key) in [
        ("teraslice_slices_processed", "processed"),
        ("teraslice_slices_failed", "failed"),
        ("teraslice_workers_joined", "workers_joined"),
    ] {
        assert_eq!(mstr.value(gauge), stats[key].as_f64(), "{gauge} vs {stats}");
    }
    assert!(stats["processed"].as_f64() > Some(0.0));
    assert!(
        mstr.all("teraslice_controller_slices_processed").is_empty(),
        "an ended execution leaves the per-controller gauges: {}",
        mstr.text
    );
    assert!(
        mstr.all("teraslice_execution_cpu_limit").is_empty()
            && mstr.all("teraslice_execution_info").is_empty(),
        "an ended execution leaves the resources and info gauges: {}",
        mstr.text
    );
    assert!(
        mstr.all("teraslice_execution_status").is_empty(),
        "only living executions have a status gauge: {}",
        mstr.text
    );
    wait_for("the ended processes to remove their targets", || async {
        targets(&sd_dir, &ex_id).is_empty()
    })
    .await;
}

/// The master's `execution_info` and resources gauges of a running native execution.
fn assert_execution_gauges(mstr: &Metrics, ex_id: &str, job_id: &Value, version: &Value) {
    let (job_id, version) = (
        job_id.as_str().expect("job_id"),
        version.as_str().expect("version"),
    );
    let of_ex = |name: &str| -> Vec<&Sample> {
        mstr.all(name)
            .into_iter()
            .filter(|s| s.labels.get("ex_id") == Some(ex_id))
            .collect()
    };
    let info = of_ex("teraslice_execution_info");
    assert_eq!(info.len(), 1, "{}", mstr.text);
    // Native: no image; the processes run the master's binary.
    for (label, want) in [("job_id", job_id), ("image", ""), ("version", version)] {
        assert_eq!(
            info[0].labels.get(label).unwrap_or(""),
            want,
            "{label}: {}",
            mstr.text
        );
    }
    assert!(matches!(info[0].value, PromValue::Gauge(v) if v == 1.0));
    for (name, want) in [
        ("teraslice_execution_cpu_request", Some(0.25)),
        ("teraslice_execution_cpu_limit", Some(1.5)),
        ("teraslice_execution_memory_limit", Some(268_435_456.0)),
        // Not set on the job: no gauge, as in Teraslice.
        ("teraslice_execution_memory_request", None),
    ] {
        let got = of_ex(name);
        let value = got.first().map(|s| match s.value {
            PromValue::Gauge(v) => v,
            ref other => panic!("{name}: {other:?}"),
        });
        assert_eq!(value, want, "{name}: {}", mstr.text);
        if let Some(s) = got.first() {
            assert_eq!(s.labels.get("job_id"), Some(job_id));
            assert_eq!(s.labels.get("job_name"), Some("metered"));
        }
    }
}

#[tokio::test]
async fn a_job_turns_metrics_on_for_its_processes_when_the_cluster_has_them_off() {
    let m = NativeMaster::start();
    let spec = json!({
        "name": "metered-job", "lifecycle": "persistent", "workers": 1,
        "prom_metrics_enabled": true, "prom_metrics_add_default": false,
        "operations": [{"_op": "data_generator", "size": 5}, {"_op": "delay", "ms": 20}, {"_op": "noop"}]
    });
    let ex_id = m.submit(&spec).await;
    let sd_dir = m.path().join("data").join("metrics-targets");
    wait_for(
        "file-SD targets of the controller and the worker",
        || async { targets(&sd_dir, &ex_id).len() == 2 },
    )
    .await;
    let http = reqwest::Client::new();
    let worker = &targets(&sd_dir, &ex_id)["worker"];
    let w = scrape(&http, worker).await.expect("worker scrape");
    assert_eq!(w.all("teraslice_worker_worker_info").len(), 1, "{}", w.text);
    assert!(
        !w.text.contains("process_resident_memory_bytes"),
        "prom_metrics_add_default: false leaves the process metrics out: {}",
        w.text
    );
    let entries: Vec<_> = std::fs::read_dir(&sd_dir)
        .expect("targets dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        entries.iter().all(|n| !n.starts_with("master-")),
        "the master has metrics off: {entries:?}"
    );
    m.post(&format!("/ex/{ex_id}/_stop?timeout=20000")).await;
}
