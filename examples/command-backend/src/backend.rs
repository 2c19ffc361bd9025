//! [`CommandBackend`]: the `ClusterBackend` contract on top of a command template.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::Signal;
use teraslice_core::backend::{
    Assignment, Capabilities, ControllerAddress, EventKind, NodeState, Readiness, StopOptions,
    WorkerChange,
};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::{BackendError, BackendEvent, ClusterBackend, ClusterState, ExecutionRecord};
use tokio::sync::{broadcast, watch};

use crate::config::CommandConfig;
use crate::launch::signal_group;
use crate::state::{Execution, Shared, State};

/// Runs each execution controller and worker as one run of the command template. Dropping it
/// SIGKILLs every command it started; [`ClusterBackend::shutdown`] stops them gracefully.
pub struct CommandBackend {
    shared: Arc<Shared>,
}

impl CommandBackend {
    /// A backend running `cfg.template`; nothing starts before the scheduler allocates.
    pub fn new(cfg: CommandConfig) -> Self {
        CommandBackend {
            shared: Arc::new(Shared::new(cfg)),
        }
    }

    fn free_slots(&self, st: &State) -> Option<u32> {
        let used = u32::try_from(st.procs.len()).unwrap_or(u32::MAX);
        self.shared.cfg.slots.map(|s| s.saturating_sub(used))
    }

    /// Refuses new commands past `slots` and after shutdown.
    fn check_room(&self, st: &State, ex_id: &str, n: u32) -> Result<(), BackendError> {
        if st.shut_down {
            return Err(BackendError::Allocation(format!(
                "execution {ex_id}: the command backend is shut down"
            )));
        }
        match self.free_slots(st) {
            Some(free) if free < n => Err(BackendError::NoCapacity(format!(
                "execution {ex_id}: {n} process(es) wanted, {free} of teraslice.command.slots free"
            ))),
            _ => Ok(()),
        }
    }

    /// The lowest port of the range that no controller of ours holds and nothing here listens on.
    fn pick_port(&self, st: &State) -> Option<u16> {
        let held: BTreeSet<u16> = st.ports_in_use().collect();
        let (first, last) = self.shared.cfg.ports;
        (first..=last)
            .find(|p| !held.contains(p) && std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok())
    }

    fn start_workers(&self, ex_id: &str, n: u32) -> Result<(), BackendError> {
        let mut st = self.shared.state();
        self.check_room(&st, ex_id, n)?;
        for _ in 0..n {
            let Some(ex) = st.executions.get_mut(ex_id) else {
                return Err(BackendError::UnknownExecution(ex_id.to_string()));
            };
            ex.workers_started += 1;
            let (record, name) = (ex.record.clone(), format!("worker-{}", ex.workers_started));
            self.shared
                .launch(&mut st, &record, Assignment::Worker, &name)
                .map_err(|e| BackendError::Allocation(format!("execution {ex_id}: {e}")))?;
        }
        Ok(())
    }

    /// Marks `pids` as stopping and ends them: SIGTERM, then SIGKILL after `grace` (at once
    /// with `force`); returns when every one has been reaped.
    async fn terminate(&self, pids: Vec<u32>, grace: Duration, force: bool) {
        let waits: Vec<(u32, watch::Receiver<bool>)> = {
            let mut st = self.shared.state();
            pids.iter()
                .filter_map(|pid| {
                    let p = st.procs.get_mut(pid)?;
                    p.stopping = true;
                    Some((*pid, p.exited.clone()))
                })
                .collect()
        };
        let stops = waits.into_iter().map(|(pid, mut exited)| async move {
            signal_group(
                pid,
                if force {
                    Signal::SIGKILL
                } else {
                    Signal::SIGTERM
                },
            );
            let timed_out = tokio::time::timeout(grace, exited.wait_for(|e| *e))
                .await
                .is_err();
            if timed_out {
                tracing::info!(
                    pid,
                    ?grace,
                    "command outlived the stop grace period; SIGKILL"
                );
                signal_group(pid, Signal::SIGKILL);
                // An error: the reaper is gone with the runtime, nothing left to wait for.
                let _ = exited.wait_for(|e| *e).await;
            }
        });
        futures::future::join_all(stops).await;
    }

    fn worker_count(&self, ex_id: &str) -> Result<u32, BackendError> {
        let st = self.shared.state();
        if !st.executions.contains_key(ex_id) {
            return Err(BackendError::UnknownExecution(ex_id.to_string()));
        }
        Ok(u32::try_from(st.workers(ex_id).len()).unwrap_or(u32::MAX))
    }
}

impl Drop for CommandBackend {
    fn drop(&mut self) {
        for pid in self.shared.state().procs.keys() {
            signal_group(*pid, Signal::SIGKILL);
        }
    }
}

fn change(action: &str, ex_id: &str, n: u32) -> WorkerChange {
    WorkerChange {
        action: action.to_string(),
        ex_id: ex_id.to_string(),
        worker_num: n,
    }
}

#[async_trait]
impl ClusterBackend for CommandBackend {
    fn kind(&self) -> ClusterManagerType {
        crate::COMMAND
    }

    /// Commands are not pods: no targets, volumes, resources or pod overrides.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Creates the work directory and, unless `teraslice.command.config` names one, writes the
    /// master's config there for the processes to read.
    async fn initialize(&self) -> Result<(), BackendError> {
        let cfg = &self.shared.cfg;
        let io = |what: &str, e: std::io::Error| {
            BackendError::Other(format!("command backend: {what}: {e}"))
        };
        std::fs::create_dir_all(&cfg.work_dir)
            .map_err(|e| io(&format!("work_dir {}", cfg.work_dir.display()), e))?;
        if cfg.config_path.is_none() {
            let path = cfg.config_file();
            let json = serde_json::to_vec_pretty(&cfg.system_config)
                .map_err(|e| BackendError::Other(format!("command backend: config: {e}")))?;
            std::fs::write(&path, json).map_err(|e| io(&path.display().to_string(), e))?;
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), BackendError> {
        let ex_ids: Vec<String> = {
            let mut st = self.shared.state();
            st.shut_down = true;
            st.executions.keys().cloned().collect()
        };
        for ex_id in ex_ids {
            self.stop_execution(&ex_id, &StopOptions::default()).await?;
        }
        Ok(())
    }

    async fn ready_for_allocation(&self) -> Readiness {
        let st = self.shared.state();
        let reason = match self.free_slots(&st) {
            _ if st.shut_down => "the command backend is shut down".to_string(),
            Some(free) if free < 2 => format!(
                "{free} of teraslice.command.slots free; an execution needs 2, its controller and a worker"
            ),
            _ => return Readiness::Ready,
        };
        Readiness::NotReady { reason }
    }

    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        let hostname = self.shared.cfg.hostname.clone();
        let mut st = self.shared.state();
        let ex_id = &ex.ex_id;
        if let Some(port) = st.controller(ex_id).and_then(|p| p.port) {
            return Ok(ControllerAddress { hostname, port });
        }
        self.check_room(&st, ex_id, 1)?;
        let Some(port) = self.pick_port(&st) else {
            let (first, last) = self.shared.cfg.ports;
            return Err(BackendError::NoCapacity(format!(
                "execution {ex_id}: no free slicer port in {first}-{last} (teraslice.slicer_port_range)"
            )));
        };
        let mut record = ex.clone();
        record.slicer_hostname = Some(hostname.clone());
        record.slicer_port = Some(port);
        let started = self
            .shared
            .launch(&mut st, &record, Assignment::ExecutionController, "ec");
        let workers_started = st.executions.get(ex_id).map_or(0, |e| e.workers_started);
        st.executions.insert(
            ex_id.clone(),
            Execution {
                record,
                workers_started,
            },
        );
        started
            .map(|_| ControllerAddress { hostname, port })
            .map_err(|e| BackendError::Allocation(format!("execution controller of {ex_id}: {e}")))
    }

    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        let missing = {
            let mut st = self.shared.state();
            let known = st
                .executions
                .entry(ex.ex_id.clone())
                .or_insert_with(|| Execution {
                    record: ex.clone(),
                    workers_started: 0,
                });
            known.record = ex.clone();
            let have = u32::try_from(st.workers(&ex.ex_id).len()).unwrap_or(u32::MAX);
            workers.saturating_sub(have)
        };
        self.start_workers(&ex.ex_id, missing)
    }

    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.worker_count(&ex.ex_id)?;
        self.start_workers(&ex.ex_id, n)?;
        Ok(change("add", &ex.ex_id, n))
    }

    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        let running = self.shared.state().workers(ex_id);
        if n as usize >= running.len() {
            return Err(BackendError::InvalidRequest(format!(
                "execution {ex_id}: cannot remove {n} of its {} worker(s); at least one must stay (stop the execution instead)",
                running.len()
            )));
        }
        // The newest first: the oldest have warmed up.
        let victims = running.into_iter().rev().take(n as usize).collect();
        self.terminate(victims, self.shared.cfg.stop_timeout, false)
            .await;
        Ok(change("remove", ex_id, n))
    }

    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        let current = self.worker_count(&ex.ex_id)?;
        if current > total {
            self.remove_workers(&ex.ex_id, current - total).await?;
        } else if current < total {
            self.start_workers(&ex.ex_id, total - current)?;
        }
        Ok(change("set", &ex.ex_id, total))
    }

    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError> {
        let (known, pids) = {
            let mut st = self.shared.state();
            let known = st.executions.remove(ex_id).is_some();
            let pids: Vec<u32> = st
                .procs
                .iter()
                .filter(|(_, p)| p.info.ex_id == ex_id)
                .map(|(pid, _)| *pid)
                .collect();
            (known, pids)
        };
        if !known && pids.is_empty() {
            return Ok(());
        }
        let grace = opts
            .timeout_ms
            .map_or(self.shared.cfg.stop_timeout, Duration::from_millis);
        self.terminate(pids, grace, opts.force).await;
        self.shared.emit(ex_id, EventKind::Stopped);
        Ok(())
    }

    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        let cfg = &self.shared.cfg;
        let st = self.shared.state();
        let mut node = NodeState::connected(&cfg.hostname, cfg.slots, self.free_slots(&st));
        node.active = st.procs.values().map(|p| p.info.clone()).collect();
        Ok(ClusterState::from([(node.node_id.clone(), node)]))
    }

    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.shared.events.subscribe()
    }
}
