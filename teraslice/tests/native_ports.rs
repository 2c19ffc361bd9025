//! Slicer ports of the native backend through the binary: a port of `slicer_port_range` that
//! another program holds is skipped and the execution record names the port its controller really
//! listens on; a range held entirely elsewhere fails the execution with the range named; and two
//! `teraslice run`s sharing one small range at the same time both complete.
mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::native::{processes_in, store_in, text, wait_for, write_config, NativeMaster, BIN};
use serde_json::{json, Value};
use teraslice_core::store::ExecutionQuery;
use teraslice_core::{ExecutionStatus, StateStore};

/// `n` consecutive ports that nothing listens on right now, from a random start so tests that
/// run at once rarely meet; below Kubernetes' NodePorts (30000-32767, which kube-proxy of the
/// test plane's real node also answers on 127.0.0.1) and Linux's ephemeral ports (32768-),
/// which outgoing connections take at any moment.
fn free_block(n: u16) -> u16 {
    let seed = (uuid::Uuid::new_v4().as_u128() % 8000) as u16;
    (0..8000u16)
        .map(|i| 21000 + (seed + i) % 8000)
        .find(|&from| (from..from + n).all(|p| TcpListener::bind(("0.0.0.0", p)).is_ok()))
        .expect("a block of free ports")
}

/// Listeners on `ports`, standing for other programs; kept until dropped.
fn occupy(ports: std::ops::RangeInclusive<u16>) -> Vec<TcpListener> {
    ports
        .map(|p| TcpListener::bind(("0.0.0.0", p)).expect("occupy a port"))
        .collect()
}

fn range_config(start: u16, end: u16) -> String {
    format!("  slicer_port_range: \"{start}:{end}\"\n")
}

/// `slices` slices of one record, each held `ms` by `delay`.
fn job(name: &str, slices: u32, ms: u32, workers: u32) -> Value {
    json!({
        "name": name, "lifecycle": "once", "workers": workers,
        "operations": [
            {"_op": "data_generator", "size": slices},
            {"_op": "delay", "ms": ms},
            {"_op": "noop", "size": 1}
        ]
    })
}

/// Inode of the socket listening on `0.0.0.0:port`, from `/proc/net/tcp`.
fn listening_inode(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    // Any address (0.0.0.0) or loopback (127.0.0.1: a controller whose slicer_hostname is
    // loopback listens only there).
    let locals = [
        format!("00000000:{port:04X}"),
        format!("0100007F:{port:04X}"),
    ];
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local = f.get(1).is_some_and(|l| locals.iter().any(|x| x == l));
        (local && f.get(3) == Some(&"0A")).then(|| f[9].to_string())
    })
}

/// Whether process `pid` has the socket with `inode` open.
fn holds(pid: u32, inode: &str) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == want))
    })
}

/// `teraslice run job.json -c <config> --quiet` in `dir`, started now.
fn spawn_run(dir: &Path, config: &Path, job: &Value) -> std::process::Child {
    std::fs::write(dir.join("job.json"), job.to_string()).expect("write job.json");
    Command::new(BIN)
        .args(["run", "job.json", "--quiet", "-c"])
        .arg(config)
        .current_dir(dir)
        .env("TERASLICE_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn teraslice run")
}

/// The one execution record `teraslice run` left in `dir`.
async fn only_execution(dir: &Path) -> teraslice_core::ExecutionRecord {
    let exs = store_in(dir)
        .list_executions(&ExecutionQuery::default())
        .await
        .expect("list executions");
    assert_eq!(exs.len(), 1, "one execution: {exs:?}");
    exs.into_iter().next().unwrap()
}

fn assert_completed(out: &Output) {
    assert!(
        out.status.success(),
        "the run completed; stdout: {} stderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_held_slicer_port_is_skipped_and_the_record_names_the_port_the_controller_listens_on() {
    let start = free_block(4);
    // The backend would hand out start+1 first: "other programs" hold it and the next one.
    let _others = occupy(start + 1..=start + 2);
    let port = start + 3;
    let m = NativeMaster::start_with(&range_config(start, start + 3));
    let ex_id = m.submit(&job("held-port", 60, 100, 1)).await;
    m.wait_status(&ex_id, "running").await;

    // The master reaches the controller's control routes at the record's address.
    m.post(&format!("/ex/{ex_id}/_pause")).await;
    m.wait_status(&ex_id, "paused").await;
    let record = m.execution(&ex_id).await;
    assert_eq!(record["slicer_port"], port, "{record}");
    let ec = m.pids(&ex_id, "execution_controller").await;
    assert_eq!(ec.len(), 1, "one controller");
    let inode = listening_inode(port).expect("something listens on the record's port");
    assert!(
        holds(ec[0], &inode),
        "the controller itself listens on the record's port"
    );
    for worker in m.pids(&ex_id, "worker").await {
        assert!(
            !holds(worker, &inode),
            "worker {worker} holds no slicer socket"
        );
    }

    m.post(&format!("/ex/{ex_id}/_resume")).await;
    m.wait_status(&ex_id, "completed").await;
    assert_eq!(m.completed(&ex_id).await, 60);
    wait_for("the controller's port to be free again", || async {
        TcpListener::bind(("0.0.0.0", port)).is_ok()
    })
    .await;
}

#[tokio::test]
async fn every_slicer_port_held_elsewhere_fails_the_run_naming_the_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = free_block(3);
    let _others = occupy(start + 1..=start + 2);
    let config = write_config(dir.path(), &range_config(start, start + 2));
    let out = spawn_run(dir.path(), &config, &job("no-port", 5, 10, 1))
        .wait_with_output()
        .expect("teraslice run exits");
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "the run fails: {stderr}");
    let named = format!("teraslice.slicer_port_range {start}:{}", start + 2);
    for want in [named.as_str(), "every port", "is in use"] {
        assert!(stderr.contains(want), "names {want:?}: {stderr}");
    }
    let ex = only_execution(dir.path()).await;
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert!(ex.failure_reason.contains(&named), "{}", ex.failure_reason);
    assert_eq!(
        processes_in(dir.path()),
        Vec::<u32>::new(),
        "no process left running"
    );
}

#[tokio::test]
async fn two_runs_at_once_on_one_shared_range_of_two_ports_both_complete() {
    let start = free_block(3);
    let dirs = [
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    ];
    // Both runs start their search at start+1, at the same moment.
    let runs: Vec<_> = dirs
        .iter()
        .map(|d| {
            let config = write_config(d.path(), &range_config(start, start + 2));
            spawn_run(d.path(), &config, &job("shared-range", 30, 100, 2))
        })
        .collect();
    let outs: Vec<Output> = runs
        .into_iter()
        .map(|r| r.wait_with_output().expect("teraslice run exits"))
        .collect();
    for (out, dir) in outs.iter().zip(&dirs) {
        assert_completed(out);
        let ex = only_execution(dir.path()).await;
        assert_eq!(ex.status, ExecutionStatus::Completed);
        let port = ex
            .slicer_port
            .expect("the record has the controller's port");
        assert!(
            (start + 1..=start + 2).contains(&port),
            "port {port} of the range"
        );
        assert_eq!(processes_in(dir.path()), Vec::<u32>::new());
    }
}
