//! The master through its HTTP API, on the mock backend with SQLite: submit throughput,
//! `/cluster/state` latency with 100 running executions, and resident memory — each against a
//! baseline measured on the same server in the same run (`GET /`, the idle master).
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::report::{ratio, Report};

const CONCURRENCY: usize = 8;

struct Master {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Master {
    async fn start(teraslice: &Path, dir: &Path) -> anyhow::Result<Master> {
        let config = dir.join("teraslice.yaml");
        let data = dir.join("data");
        std::fs::write(
            &config,
            format!(
                "teraslice:\n  name: bench\n  cluster_manager_type: mock\n  data_dir: {}\n  mock:\n    nodes: 10\n    slots_per_node: 400\n",
                data.display()
            ),
        )?;
        let mut child = Command::new(teraslice)
            .args(["master", "--port", "0", "--bind", "127.0.0.1", "-c"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", teraslice.display()))?;
        let stdout = child.stdout.take().context("master stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(line) = lines.next_line().await? else {
                bail!("master exited before listening")
            };
            if let Some(url) = line.strip_prefix("teraslice master listening on ") {
                break url.trim().to_string();
            }
        };
        Ok(Master {
            child,
            url,
            http: reqwest::Client::new(),
        })
    }

    fn rss_kib(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Requests per second of `n` requests made by `make`, `CONCURRENCY` at a time.
    async fn rate<F>(&self, n: usize, make: F) -> anyhow::Result<f64>
    where
        F: Fn(usize) -> reqwest::RequestBuilder,
    {
        let started = Instant::now();
        let results: Vec<_> = stream::iter(0..n)
            .map(|i| make(i).send())
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            let r = r?;
            if !r.status().is_success() {
                bail!("bench request failed: {}", r.status());
            }
        }
        Ok(n as f64 / started.elapsed().as_secs_f64())
    }

    async fn submit(&self, n: usize, start: bool) -> anyhow::Result<f64> {
        let job = json!({"name": "bench", "workers": 1, "operations": [{"_op": "data_generator", "size": 10}, {"_op": "noop"}]});
        let url = format!("{}/jobs?start={start}", self.url);
        self.rate(n, |_| self.http.post(&url).json(&job)).await
    }

    async fn running(&self) -> anyhow::Result<usize> {
        let ex: Value = self
            .http
            .get(format!("{}/ex?status=running&size=10000", self.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(ex.as_array().map_or(0, Vec::len))
    }
}

pub async fn run(report: &mut Report, teraslice: &Path, scale: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let master = Master::start(teraslice, dir.path()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let idle_rss = master.rss_kib();
    let n = 250 * scale as usize;
    let root = format!("{}/", master.url);
    let get_root = master.rate(n, |_| master.http.get(&root)).await?;
    let submits = master.submit(n, false).await?;
    let s = report.section(
        "Master API (mock backend, SQLite)",
        &format!("`teraslice master` (release) with the mock backend; {CONCURRENCY} requests in flight. Baselines are `GET /` and the idle master, measured on the same server in this run."),
    );
    s.row(
        "POST /jobs?start=false, jobs/s",
        format!("{submits:.0}"),
        format!("{get_root:.0} GET / per s"),
        ratio(submits, get_root),
    );

    master.submit(100, true).await?;
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while master.running().await? < 100 {
        if Instant::now() > deadline {
            bail!("100 executions did not reach running on the mock backend");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let state = format!("{}/cluster/state", master.url);
    let state_rate = master.rate(n, |_| master.http.get(&state)).await?;
    let root_rate = master.rate(n, |_| master.http.get(&root)).await?;
    s.row(
        "GET /cluster/state with 100 running executions, ms per request",
        format!("{:.2}", 1000.0 / state_rate),
        format!("{:.2} ms per GET /", 1000.0 / root_rate),
        ratio(root_rate, state_rate),
    );
    master.submit(900, true).await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let loaded_rss = master.rss_kib();
    s.row(
        "resident memory idle, MiB",
        format!("{:.1}", idle_rss as f64 / 1024.0),
        format!("{:.1}", idle_rss as f64 / 1024.0),
        "1.00".into(),
    );
    s.row(
        "resident memory with 1,000 executions recorded, MiB",
        format!("{:.1}", loaded_rss as f64 / 1024.0),
        format!("{:.1} (idle)", idle_rss as f64 / 1024.0),
        ratio(loaded_rss as f64, idle_rss as f64),
    );
    Ok(())
}
