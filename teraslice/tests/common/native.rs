//! Black-box helpers for the native backend: `teraslice run` in a temp dir, a `teraslice master`
//! with `cluster_manager_type: native`, the SQLite file they write, and the processes they leave.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use teraslice_core::store::{SliceQuery, SliceState, SliceStateRecord};
use teraslice_core::StateStore;
use teraslice_storage::SqliteStore;

use super::master;

pub const BIN: &str = env!("CARGO_BIN_EXE_teraslice");

/// How long any wait for a condition may take before the test fails (generous: CI is slow).
const PATIENCE: Duration = Duration::from_secs(120);

/// A `slicer_port_range` of 11 ports for each config this test process writes, below the
/// default range, Kubernetes' NodePorts (30000-32767: the test plane's kube-proxy answers them on
/// 127.0.0.1) and Linux's ephemeral ports: masters that run at once (these tests in parallel,
/// other test binaries) reserve ports independently and would otherwise race for the same one.
fn port_range() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let block = (std::process::id().wrapping_mul(13).wrapping_add(n)) % 800;
    let start = 20000 + block * 12;
    format!("{start}:{}", start + 11)
}

/// Writes `<dir>/teraslice.yaml` (native backend, SQLite in `<dir>/data`, 12 slots); `extra` is
/// appended under `teraslice:` (indent keys by two spaces). A `slicer_port_range` in `extra`
/// replaces the one this test process picks.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("teraslice.yaml");
    let range = if extra.contains("slicer_port_range:") {
        String::new()
    } else {
        format!("  slicer_port_range: \"{}\"\n", port_range())
    };
    let yaml = format!(
        "teraslice:\n  name: nativetest\n  cluster_manager_type: native\n  data_dir: {}\n  workers: 12\n  shutdown_timeout: 10000\n{range}{extra}",
        dir.join("data").display(),
    );
    std::fs::write(&path, yaml).expect("write teraslice.yaml");
    path
}

/// The SQLite file the master, EC and workers of `dir` share.
pub fn store_in(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir.join("data").join("teraslice.sqlite"))
        .expect("open the SQLite state file")
}

/// Every slice state record of an execution.
pub async fn slices(store: &SqliteStore, ex_id: &str) -> Vec<SliceStateRecord> {
    store
        .list_slice_states(&SliceQuery::all(ex_id))
        .await
        .expect("list slice states")
}

pub async fn count_slices(store: &SqliteStore, ex_id: &str, state: SliceState) -> u64 {
    store
        .count_slice_states(ex_id, Some(state))
        .await
        .expect("count slice states")
}

/// `teraslice run <job> -c <config> --quiet` with `dir` as the working directory.
pub fn run_job(dir: &Path, job: &Value) -> Output {
    let config = write_config(dir, "");
    let job_path = dir.join("job.json");
    std::fs::write(&job_path, job.to_string()).expect("write job.json");
    run_in(
        dir,
        &[
            "run".as_ref(),
            job_path.as_os_str(),
            "-c".as_ref(),
            config.as_os_str(),
            "--quiet".as_ref(),
        ],
    )
}

/// `teraslice <args>` with `dir` as the working directory, quiet logs, no backtraces.
pub fn run_in(dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("TERASLICE_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn teraslice run")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The ex_id `teraslice run` printed in its summary (`  execution  <id>`).
pub fn ex_id_of(out: &Output) -> String {
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("execution"))
        .map(|id| id.trim().to_string())
        .unwrap_or_else(|| panic!("no execution id in the summary: {stdout}"))
}

/// Every non-empty line of every file below `dir`.
pub fn lines_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(lines_below(&path));
        } else {
            let body = std::fs::read_to_string(&path).expect("read an output file");
            out.extend(body.lines().filter(|l| !l.is_empty()).map(str::to_string));
        }
    }
    out
}

/// Whether `pid` is a live process (a zombie waiting for its parent to reap it is not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Live processes other than this test whose working directory is `dir`: everything
/// `teraslice run` (and the EC and workers it starts, which inherit its directory) left behind.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && alive(pid))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .collect()
}

/// Polls `check` until it is true; panics naming `what` if it never is.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for: {what}");
}

/// Waits until none of `pids` is alive.
pub async fn wait_gone(pids: &[u32]) {
    wait_for(&format!("processes {pids:?} to be gone"), || async {
        pids.iter().all(|&p| !alive(p))
    })
    .await;
}

/// `teraslice master` on the native backend, with a temp dir as working and data directory.
pub struct NativeMaster {
    pub url: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    child: Child,
    /// Added to the master's environment, at the start and at every restart.
    env: Vec<(String, String)>,
}

impl NativeMaster {
    pub fn start() -> NativeMaster {
        Self::start_with("")
    }

    /// `extra` is appended under `teraslice:` of the config (indent keys by two spaces).
    pub fn start_with(extra: &str) -> NativeMaster {
        Self::start_with_env(extra, Vec::new())
    }

    /// [`Self::start_with`], the master (and so its children) getting `env` too.
    pub fn start_with_env(extra: &str, env: Vec<(String, String)>) -> NativeMaster {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(dir.path(), extra);
        let (child, url) = master::spawn_with_env(&config, Some(dir.path()), &env);
        NativeMaster {
            url,
            http: reqwest::Client::new(),
            dir,
            child,
            env,
        }
    }

    /// SIGKILL to the master (no chance to clean up), and waits for it to be gone.
    pub fn kill_master(&mut self) {
        self.child.kill().expect("SIGKILL the master");
        self.child.wait().expect("reap the master");
    }

    /// SIGKILL to the master, then a new master on the same directory and config: the new one
    /// reconciles what the killed one left in the store.
    pub fn restart_after_kill(&mut self) {
        self.kill_master();
        let config = self.path().join("teraslice.yaml");
        let (child, url) = master::spawn_with_env(&config, Some(self.dir.path()), &self.env);
        self.child = child;
        self.url = url;
    }

    pub fn master_pid(&self) -> u32 {
        self.child.id()
    }

    /// Live processes in the master's directory other than the master: its ECs and workers.
    pub fn children(&self) -> Vec<u32> {
        let master = self.child.id();
        let mut pids = processes_in(self.path());
        pids.retain(|&p| p != master);
        pids
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> SqliteStore {
        store_in(self.path())
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        master::call(&self.http, &self.url, method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::POST, path, None).await;
        assert_eq!(status, StatusCode::OK, "POST {path}: {body}");
        body
    }

    /// Submits `spec` (started) and returns its ex_id.
    pub async fn submit(&self, spec: &Value) -> String {
        let (status, body) = self.call(Method::POST, "/jobs", Some(spec)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["ex_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no ex_id in {body}"))
            .to_string()
    }

    pub async fn execution(&self, ex_id: &str) -> Value {
        self.get(&format!("/ex/{ex_id}")).await
    }

    pub async fn status_of(&self, ex_id: &str) -> String {
        let ex = self.execution(ex_id).await;
        ex["_status"].as_str().unwrap_or_default().to_string()
    }

    pub async fn wait_status(&self, ex_id: &str, want: &str) {
        wait_for(&format!("execution {ex_id} to be {want}"), || async {
            self.status_of(ex_id).await == want
        })
        .await;
    }

    /// `(assignment, pid)` of every process of `ex_id` in `/cluster/state`.
    pub async fn processes(&self, ex_id: &str) -> Vec<(String, u32)> {
        let state = self.get("/cluster/state").await;
        let nodes = state
            .as_object()
            .expect("cluster state is an object of nodes");
        nodes
            .values()
            .flat_map(|n| n["active"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["ex_id"] == ex_id)
            .map(|p| {
                let assignment = p["assignment"].as_str().unwrap_or_default().to_string();
                let pid = p["pid"].as_u64().expect("a native process has a pid");
                (assignment, u32::try_from(pid).expect("pid fits u32"))
            })
            .collect()
    }

    pub async fn pids(&self, ex_id: &str, assignment: &str) -> Vec<u32> {
        let all = self.processes(ex_id).await;
        all.into_iter()
            .filter(|(a, _)| a == assignment)
            .map(|(_, pid)| pid)
            .collect()
    }

    /// Waits until the cluster state lists `n` live workers of `ex_id`.
    pub async fn wait_workers(&self, ex_id: &str, n: usize) {
        wait_for(
            &format!("{n} workers of {ex_id} in the cluster state"),
            || async {
                let pids = self.pids(ex_id, "worker").await;
                pids.len() == n && pids.iter().all(|&p| alive(p))
            },
        )
        .await;
    }

    pub async fn completed(&self, ex_id: &str) -> u64 {
        count_slices(&self.store(), ex_id, SliceState::Completed).await
    }

    /// `GET /ex/:id/errors` as a list.
    pub async fn errors(&self, ex_id: &str) -> Vec<Value> {
        let body = self.get(&format!("/ex/{ex_id}/errors")).await;
        body.as_array()
            .unwrap_or_else(|| panic!("errors is not a list: {body}"))
            .clone()
    }
}

impl Drop for NativeMaster {
    fn drop(&mut self) {
        // SIGTERM: the master stops its executions and their processes before it exits.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
