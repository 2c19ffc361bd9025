//! The native backend through the binary: how fast a job starts, and how much memory the
//! execution controller and a worker use, each against a baseline from the same run.
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::report::{ratio, Report};

const WORKERS: u64 = 4;

pub async fn run(report: &mut Report, teraslice: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let spawn = spawn_time(teraslice).await?;
    let job_path = dir.path().join("one-slice.json");
    let job = json!({"name": "one-slice", "workers": 1, "operations": [{"_op": "data_generator", "size": 1}, {"_op": "noop"}]});
    std::fs::write(&job_path, job.to_string())?;
    let run_secs = one_slice_run_time(teraslice, dir.path(), &job_path).await?;
    let (joined_secs, ec_kib, worker_kib, master_kib) =
        master_measurements(teraslice, dir.path()).await?;
    let s = report.section(
        "Native backend (release binary)",
        "Baselines: starting the `teraslice` process itself (`teraslice --version`), and the master's own \
         resident memory, in the same run.",
    );
    s.row(
        &format!("`teraslice run` of a one-slice job, start to exit, ms (median of {RUNS})"),
        format!("{:.0}", run_secs * 1000.0),
        format!("{:.1} ms per process start", spawn * 1000.0),
        ratio(run_secs, spawn),
    );
    s.row(
        &format!("submit → all {WORKERS} workers connected, ms"),
        format!("{:.0}", joined_secs * 1000.0),
        format!("{:.1} ms per process start", spawn * 1000.0),
        ratio(joined_secs, spawn),
    );
    let mib = |k: u64| format!("{:.1}", k as f64 / 1024.0);
    s.row(
        "peak RSS of the execution controller, MiB",
        mib(ec_kib),
        format!("{} (master)", mib(master_kib)),
        ratio(ec_kib as f64, master_kib as f64),
    );
    s.row(
        "peak RSS of a worker, MiB",
        mib(worker_kib),
        format!("{} (master)", mib(master_kib)),
        ratio(worker_kib as f64, master_kib as f64),
    );
    Ok(())
}

/// Runs of the one-slice job; the median is reported.
const RUNS: usize = 5;

/// Median wall time of `teraslice run` of the one-slice job, each run on a fresh data dir.
async fn one_slice_run_time(teraslice: &Path, dir: &Path, job_path: &Path) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let cwd = dir.join(format!("run-{run}"));
        std::fs::create_dir_all(&cwd)?;
        let started = Instant::now();
        let status = Command::new(teraslice)
            .current_dir(&cwd)
            .args(["run", "--quiet"])
            .arg(job_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("teraslice run of a one-slice job failed ({status})");
        }
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[RUNS / 2])
}

/// Mean wall time of starting and ending `teraslice --version`.
async fn spawn_time(teraslice: &Path) -> anyhow::Result<f64> {
    let n = 20;
    let started = Instant::now();
    for _ in 0..n {
        Command::new(teraslice)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .await?;
    }
    Ok(started.elapsed().as_secs_f64() / n as f64)
}

fn kib(pid: u64, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A native master: time from POST /jobs to every worker connected, then the peak RSS (VmHWM)
/// of the EC and the largest worker while a data_generator job runs.
async fn master_measurements(teraslice: &Path, dir: &Path) -> anyhow::Result<(f64, u64, u64, u64)> {
    let config = dir.join("native.yaml");
    std::fs::write(
        &config,
        format!("teraslice:\n  name: benchnative\n  cluster_manager_type: native\n  workers: 8\n  data_dir: {}\n", dir.join("data").display()),
    )?;
    let mut child = Command::new(teraslice)
        .current_dir(dir)
        .args(["master", "--port", "0", "--bind", "127.0.0.1", "-c"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("master stdout")?).lines();
    let url = loop {
        let Some(line) = lines.next_line().await? else {
            bail!("native master exited before listening")
        };
        if let Some(url) = line.strip_prefix("teraslice master listening on ") {
            break url.trim().to_string();
        }
    };
    let http = reqwest::Client::new();
    let job = json!({"name": "bench-native", "workers": WORKERS, "lifecycle": "persistent",
        "operations": [{"_op": "data_generator", "size": 5000}, {"_op": "noop"}]});
    let started = Instant::now();
    let created: Value = http
        .post(format!("{url}/jobs"))
        .json(&job)
        .send()
        .await?
        .json()
        .await?;
    let ex_id = created
        .get("ex_id")
        .and_then(Value::as_str)
        .context("POST /jobs gave no ex_id")?
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let joined = loop {
        let stats: Value = http
            .get(format!("{url}/ex/{ex_id}/controller"))
            .send()
            .await?
            .json()
            .await
            .unwrap_or(Value::Null);
        let n = stats
            .pointer("/0/workers_joined")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if n >= WORKERS {
            break started.elapsed().as_secs_f64();
        }
        if Instant::now() > deadline {
            bail!("workers did not all connect within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Let the persistent job generate for a while, then read the high-water marks.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state: Value = http
        .get(format!("{url}/cluster/state"))
        .send()
        .await?
        .json()
        .await?;
    let (mut ec, mut worker) = (0, 0);
    for node in state.as_object().into_iter().flat_map(|m| m.values()) {
        for p in node
            .get("active")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(pid) = p.get("pid").and_then(Value::as_u64) else {
                continue;
            };
            let hwm = kib(pid, "VmHWM:");
            match p.get("assignment").and_then(Value::as_str) {
                Some("execution_controller") => ec = ec.max(hwm),
                _ => worker = worker.max(hwm),
            }
        }
    }
    let master = child.id().map_or(0, |pid| kib(u64::from(pid), "VmHWM:"));
    let _ = http
        .post(format!("{url}/ex/{ex_id}/_stop?force=true"))
        .send()
        .await;
    let _ = child.kill().await;
    Ok((joined, ec, worker, master))
}
