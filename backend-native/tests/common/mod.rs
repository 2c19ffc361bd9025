//! Shared test fixtures: shell programs standing in for `teraslice`, and process checks.
#![allow(dead_code)]
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use teraslice_backend_native::{log_path, NativeBackend, NativeConfig};
use teraslice_core::backend::{processes_of, Assignment, BackendEvent, EventKind};
use teraslice_core::testing::{sample_execution, wait_until};
use teraslice_core::{ClusterBackend, ExecutionRecord};
use tokio::sync::broadcast;

/// Runs until SIGTERM, then exits 0. `$0` is the subcommand.
pub const GRACEFUL: &str = r#"trap "exit 0" TERM; echo "ready $0"; while :; do sleep 0.05; done"#;
/// Ignores SIGTERM (and so do the `sleep`s it starts): only SIGKILL ends it.
pub const STUBBORN: &str = r#"trap "" TERM; echo "ready $0"; while :; do sleep 0.05; done"#;
/// Exits on SIGTERM but leaves a background grandchild that ignores SIGTERM.
pub const GRANDPARENT: &str = r#"trap "exit 0" TERM; (trap "" TERM; exec sleep 1000) & echo "grandchild $!"; echo "ready $0"; while :; do sleep 0.05; done"#;

/// Patience for things that happen "soon" (a process starting, an event arriving).
pub const SETTLE: Duration = Duration::from_secs(30);

pub struct Fixture {
    pub backend: Arc<NativeBackend>,
    pub logs: tempfile::TempDir,
}

pub fn config(script: &str, slots: usize, logs: &Path) -> NativeConfig {
    let mut cfg = NativeConfig::for_program("/bin/sh");
    cfg.args_prefix = vec!["-c".to_string(), script.to_string()];
    cfg.slots = slots;
    cfg.log_dir = logs.to_path_buf();
    cfg.stop_timeout = Duration::from_secs(30);
    cfg
}

pub fn fixture(script: &str, slots: usize) -> Fixture {
    let logs = tempfile::tempdir().unwrap();
    let backend = NativeBackend::new(config(script, slots, logs.path())).unwrap();
    Fixture {
        backend: Arc::new(backend),
        logs,
    }
}

impl Fixture {
    /// Allocates the controller of a new execution, then `workers` workers, as the scheduler does.
    pub async fn allocate(&self, workers: u32) -> ExecutionRecord {
        let mut ex = sample_execution("native-test", workers);
        let addr = self
            .backend
            .allocate_execution_controller(&ex)
            .await
            .unwrap();
        ex.slicer_hostname = Some(addr.hostname);
        ex.slicer_port = Some(addr.port);
        self.backend.allocate_workers(&ex, workers).await.unwrap();
        ex
    }

    /// `(assignment, pid)` of every process of `ex_id` in the cluster state.
    pub async fn processes(&self, ex_id: &str) -> Vec<(Assignment, u32)> {
        let state = self.backend.cluster_state().await.unwrap();
        processes_of(&state, ex_id)
            .map(|p| (p.assignment, p.pid.unwrap()))
            .collect()
    }

    pub async fn pids(&self, ex_id: &str) -> Vec<u32> {
        self.processes(ex_id)
            .await
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    pub async fn worker_pids(&self, ex_id: &str) -> Vec<u32> {
        let procs = self.processes(ex_id).await;
        procs
            .into_iter()
            .filter(|(a, _)| *a == Assignment::Worker)
            .map(|(_, p)| p)
            .collect()
    }

    /// Waits until `<log_dir>/<ex_id>/<name>.log` contains `needle`; returns the log.
    pub async fn log_containing(&self, ex_id: &str, name: &str, needle: &str) -> String {
        let path = log_path(self.logs.path(), ex_id, name);
        let what = format!("{} to contain {needle:?}", path.display());
        wait_until(SETTLE, &what, || async {
            std::fs::read_to_string(&path).is_ok_and(|s| s.contains(needle))
        })
        .await;
        std::fs::read_to_string(&path).unwrap()
    }
}

impl Fixture {
    /// Waits until the EC and workers 1..=n printed `ready` (their signal traps are set).
    pub async fn wait_ready(&self, ex_id: &str, workers: u32) {
        self.log_containing(ex_id, "ec", "ready").await;
        for n in 1..=workers {
            self.log_containing(ex_id, &format!("worker-{n}"), "ready")
                .await;
        }
    }
}

/// Whether `pid` is a running process (a zombie whose parent never reaps it counts as gone).
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// The next event of `ex_id` that `want` accepts, skipping others.
pub async fn next_event(
    events: &mut broadcast::Receiver<BackendEvent>,
    ex_id: &str,
    want: impl Fn(&EventKind) -> bool,
) -> EventKind {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.ex_id == ex_id && want(&ev.kind) => return ev.kind,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    };
    tokio::time::timeout(SETTLE, wait)
        .await
        .unwrap_or_else(|_| panic!("no matching event of {ex_id} arrived"))
}
