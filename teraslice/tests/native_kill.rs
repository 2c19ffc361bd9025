//! Killed processes on the native backend: a worker killed with SIGKILL mid-job costs nothing
//! (its slice is handed to another worker); a killed execution controller fails the execution
//! with a reason and takes its workers with it.
mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use common::native::{alive, lines_below, slices, wait_for, wait_gone, NativeMaster};
use serde_json::{json, Value};
use teraslice_core::store::SliceState;

const RECORDS: usize = 6000;
const PER_SLICE: usize = 100;

/// 60 slices of 100 records, each held 150 ms by `delay` before it is written.
fn slow_export(out: &std::path::Path, lifecycle: &str) -> Value {
    json!({
        "name": "slow-export", "lifecycle": lifecycle, "workers": 2,
        "operations": [
            {"_op": "data_generator", "size": RECORDS},
            {"_op": "delay", "ms": 150},
            {"_op": "file_exporter", "path": out, "format": "ldjson",
             "file_per_slice": true, "size": PER_SLICE}
        ]
    })
}

fn kill9(pid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid}");
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_no_slice_and_the_job_completes() {
    let m = NativeMaster::start();
    let out = m.path().join("out");
    let ex_id = m.submit(&slow_export(&out, "once")).await;
    m.wait_workers(&ex_id, 2).await;
    wait_for("a few slices completed", || async {
        m.completed(&ex_id).await >= 5
    })
    .await;
    let victim = m.pids(&ex_id, "worker").await[0];
    kill9(victim);

    m.wait_status(&ex_id, "completed").await;
    assert!(m.errors(&ex_id).await.is_empty(), "no slice failed");

    let states = slices(&m.store(), &ex_id).await;
    let want = RECORDS / PER_SLICE;
    assert_eq!(states.len(), want, "one state record per slice");
    assert!(
        states.iter().all(|s| s.state == SliceState::Completed),
        "{states:?}"
    );
    let orders: HashSet<_> = states.iter().map(|s| s.slicer_order).collect();
    assert_eq!(orders.len(), want, "no slice was cut twice");

    // Nothing is lost. A slice the victim wrote but could not report is written again by the
    // other worker (at-least-once, as Teraslice): only that one slice may appear twice.
    let lines = lines_below(&out);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for l in &lines {
        let v: Value = serde_json::from_str(l).expect("every line is JSON");
        *seen.entry(v["uuid"].to_string()).or_default() += 1;
    }
    assert_eq!(
        seen.len(),
        RECORDS,
        "every generated record is in the output"
    );
    let duplicated = seen.values().filter(|&&n| n > 1).count();
    assert!(
        duplicated == 0 || (duplicated == PER_SLICE && lines.len() == RECORDS + PER_SLICE),
        "{duplicated} records written twice: at most the victim's one unreported slice"
    );
}

/// Every worker killed at once: the native backend starts new ones (as Teraslice re-forks crashed
/// workers) and the job completes. (The controller's "all workers gone" watchdog, for workers
/// that do not come back, is tested in runtime/tests.)
#[tokio::test]
async fn a_job_whose_workers_are_all_killed_gets_new_workers_and_completes() {
    let m = NativeMaster::start_with("  worker_disconnect_timeout: 3000\n");
    let out = m.path().join("out");
    let ex_id = m.submit(&slow_export(&out, "once")).await;
    m.wait_workers(&ex_id, 2).await;
    wait_for("a slice completed", || async {
        m.completed(&ex_id).await >= 1
    })
    .await;
    let workers = m.pids(&ex_id, "worker").await;
    workers.iter().for_each(|&p| kill9(p));

    m.wait_status(&ex_id, "completed").await;
    let ex = m.execution(&ex_id).await;
    assert_eq!(ex["_has_errors"], false, "{ex}");
    wait_for("every process to exit", || async {
        m.processes(&ex_id).await.is_empty()
    })
    .await;
    assert_eq!(
        m.children(),
        Vec::<u32>::new(),
        "no process of the execution left"
    );
}

#[tokio::test]
async fn a_killed_execution_controller_fails_the_execution_and_its_workers_exit() {
    let m = NativeMaster::start();
    let out = m.path().join("out");
    let ex_id = m.submit(&slow_export(&out, "persistent")).await;
    m.wait_workers(&ex_id, 2).await;
    wait_for("a slice completed", || async {
        m.completed(&ex_id).await >= 1
    })
    .await;
    let workers = m.pids(&ex_id, "worker").await;
    let ec = m.pids(&ex_id, "execution_controller").await;
    assert_eq!(ec.len(), 1, "one execution controller");
    kill9(ec[0]);

    m.wait_status(&ex_id, "failed").await;
    let ex = m.execution(&ex_id).await;
    let reason = ex["_failureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("execution controller"),
        "reason names the controller: {ex}"
    );
    wait_gone(&workers).await;
    wait_for("the cluster state to forget the execution", || async {
        m.processes(&ex_id).await.is_empty()
    })
    .await;
    assert!(workers.iter().all(|&p| !alive(p)));
}

#[tokio::test]
async fn the_processes_of_a_master_killed_with_sigkill_do_not_outlive_it() {
    let mut m = NativeMaster::start();
    let out = m.path().join("out");
    let ex_id = m.submit(&slow_export(&out, "persistent")).await;
    m.wait_workers(&ex_id, 2).await;
    let pids: Vec<u32> = m.processes(&ex_id).await.iter().map(|p| p.1).collect();
    assert_eq!(pids.len(), 3, "controller and two workers");
    // Both workers are past their startup: each has written a slice (`<node>__<pid>.<n>`).
    let workers = m.pids(&ex_id, "worker").await;
    wait_for("a slice written by each worker", || async {
        let names: Vec<String> = std::fs::read_dir(&out)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        workers
            .iter()
            .all(|w| names.iter().any(|n| n.contains(&format!("__{w}."))))
    })
    .await;

    m.kill_master();
    // Orphans would go on writing slices no master knows about.
    wait_gone(&pids).await;
}

/// Teraslice's node master re-forks a crashed worker (runtime reference §3.6); so does the native
/// backend, so a persistent job keeps its worker count.
#[tokio::test]
async fn a_killed_worker_of_a_persistent_job_is_replaced() {
    let m = NativeMaster::start();
    let out = m.path().join("out");
    let ex_id = m.submit(&slow_export(&out, "persistent")).await;
    m.wait_workers(&ex_id, 2).await;
    let victim = m.pids(&ex_id, "worker").await[0];
    kill9(victim);
    wait_for("a new worker in place of the killed one", || async {
        let pids = m.pids(&ex_id, "worker").await;
        pids.len() == 2 && !pids.contains(&victim) && pids.iter().all(|&p| alive(p))
    })
    .await;
}
