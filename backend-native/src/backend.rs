//! `NativeBackend`: the `ClusterBackend` whose execution controllers and workers are child
//! processes of this one, on one node whose id is `hostname`.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use teraslice_core::backend::{
    Assignment, Capabilities, ControllerAddress, EventKind, NodeState, Readiness, StopOptions,
    WorkerChange,
};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::{BackendError, BackendEvent, ClusterBackend, ClusterState, ExecutionRecord};
use tokio::sync::broadcast;

use crate::config::{ConfigError, NativeConfig, PortRange};
use crate::ports::PortsExhausted;
use crate::state::Shared;
use crate::stop::{terminate, Target};

/// Runs executions as process groups of `<program> execution-controller|worker`.
/// Dropping it SIGKILLs every child; call [`ClusterBackend::shutdown`] to stop them gracefully.
pub struct NativeBackend {
    pub(crate) shared: Arc<Shared>,
}

impl NativeBackend {
    pub fn new(cfg: NativeConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(NativeBackend {
            shared: Arc::new(Shared::new(cfg)),
        })
    }

    pub fn config(&self) -> &NativeConfig {
        &self.shared.cfg
    }

    fn u32_of(n: usize) -> u32 {
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

impl Drop for NativeBackend {
    fn drop(&mut self) {
        self.shared.kill_all();
    }
}

#[async_trait]
impl ClusterBackend for NativeBackend {
    fn kind(&self) -> ClusterManagerType {
        ClusterManagerType::NATIVE
    }

    /// No node targets, volumes, resource limits or pod overrides: processes are not pods.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    async fn initialize(&self) -> Result<(), BackendError> {
        let dir = &self.shared.cfg.log_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            BackendError::Other(format!(
                "native backend log_dir {} cannot be created: {e}",
                dir.display()
            ))
        })
    }

    async fn shutdown(&self) -> Result<(), BackendError> {
        let ex_ids: BTreeSet<String> = {
            let mut st = self.shared.state();
            st.shut_down = true;
            st.queue.clear();
            let running = st.procs.values().map(|p| p.info.ex_id.clone());
            running.chain(st.executions.keys().cloned()).collect()
        };
        let opts = StopOptions::default();
        let stops = ex_ids.iter().map(|id| self.stop_execution(id, &opts));
        join_all(stops).await.into_iter().collect()
    }

    async fn ready_for_allocation(&self) -> Readiness {
        let st = self.shared.state();
        let (total, in_use) = (self.shared.cfg.slots, st.in_use());
        let reason = match self.shared.free_slots(&st) {
            _ if st.shut_down => "the native backend is shut down".to_string(),
            0 => format!("no free slots: {in_use} of {total} in use"),
            1 => format!("only 1 free slot: {in_use} of {total} in use; an execution needs 2, one for its execution controller and one for a worker"),
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
        if st.shut_down {
            return Err(BackendError::Allocation(format!(
                "execution {ex_id}: the native backend is shut down"
            )));
        }
        if let Some(port) = st.controller(ex_id).and_then(|p| p.port) {
            return Ok(ControllerAddress { hostname, port });
        }
        // NoCapacity: the scheduler keeps the execution pending and retries.
        if self.shared.free_slots(&st) == 0 {
            return Err(BackendError::NoCapacity(format!(
                "execution {ex_id}: no free slot for its execution controller: {} of {} in use; \
                 wait for an execution to finish or raise teraslice.workers",
                st.in_use(),
                self.shared.cfg.slots
            )));
        }
        // Bound here and handed to the child as its listening socket: no other program can
        // take the port between this choice and the controller serving on it.
        let socket = match st.ports.bind() {
            Ok(socket) => socket,
            Err(exhausted) => return Err(ports_exhausted(ex_id, st.ports.range(), exhausted)),
        };
        let port = socket.port;
        let mut record = ex.clone();
        record.slicer_hostname = Some(hostname.clone());
        record.slicer_port = Some(port);
        st.remember(&record);
        let launched = self.shared.launch(
            &mut st,
            ex_id,
            Assignment::ExecutionController,
            Some(socket),
        );
        match launched {
            Ok(_) => Ok(ControllerAddress { hostname, port }),
            Err(reason) => {
                st.ports.release(port);
                Err(BackendError::Allocation(format!(
                    "execution controller of execution {ex_id}: {reason}"
                )))
            }
        }
    }

    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        let mut st = self.shared.state();
        if st.shut_down {
            return Err(BackendError::Allocation(format!(
                "execution {}: the native backend is shut down",
                ex.ex_id
            )));
        }
        st.remember(ex);
        let have = st.running_workers(&ex.ex_id).len() + st.queued_workers(&ex.ex_id);
        let missing = (workers as usize).saturating_sub(have);
        self.start_workers(&mut st, &ex.ex_id, missing)
    }

    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.add(ex, n)
    }

    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        let (targets, grace) = self.pick_removals(ex_id, n)?;
        terminate(targets, grace, false).await;
        Ok(change("remove", ex_id, n))
    }

    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        // The answer names the new total, as the conformance suite and Kubernetes do.
        let current = self.worker_count(&ex.ex_id)?;
        match current.cmp(&total) {
            std::cmp::Ordering::Greater => {
                self.remove_workers(&ex.ex_id, current - total).await?;
            }
            std::cmp::Ordering::Less => {
                self.add(ex, total - current)?;
            }
            std::cmp::Ordering::Equal => {}
        }
        Ok(change("set", &ex.ex_id, total))
    }

    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError> {
        let cfg = &self.shared.cfg;
        if opts.exclude_node.as_deref() == Some(cfg.hostname.as_str()) {
            tracing::debug!(ex_id, "stop excludes this node; its processes keep running");
            return Ok(());
        }
        let (targets, known) = {
            let mut st = self.shared.state();
            let known = st.executions.remove(ex_id).is_some();
            st.queue.retain(|id| id != ex_id);
            let targets: Vec<Target> = st
                .procs
                .iter_mut()
                .filter(|(_, p)| p.info.ex_id == ex_id)
                .map(|(pid, p)| {
                    p.stopping = true;
                    Target {
                        pid: *pid,
                        exited: p.exited.clone(),
                    }
                })
                .collect();
            (targets, known)
        };
        if !known && targets.is_empty() {
            return Ok(());
        }
        let grace = opts
            .timeout_ms
            .map_or(cfg.stop_timeout, Duration::from_millis);
        terminate(targets, grace, opts.force).await;
        self.shared.emit(ex_id, EventKind::Stopped);
        Ok(())
    }

    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        let cfg = &self.shared.cfg;
        let st = self.shared.state();
        let mut node = NodeState::connected(
            &cfg.hostname,
            Some(Self::u32_of(cfg.slots)),
            Some(Self::u32_of(self.shared.free_slots(&st))),
        );
        node.pid = Some(std::process::id());
        node.active = st.procs.values().map(|p| p.info.clone()).collect();
        Ok(ClusterState::from([(node.node_id.clone(), node)]))
    }

    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.shared.events.subscribe()
    }
}

/// No slicer port could be bound. Ports held by this backend's controllers come back when their
/// executions end (the execution waits); a range taken entirely by other programs fails it.
fn ports_exhausted(ex_id: &str, range: PortRange, why: PortsExhausted) -> BackendError {
    let (first, last) = (range.start.saturating_add(1), range.end);
    match why {
        PortsExhausted::Busy { held } => BackendError::NoCapacity(format!(
            "execution {ex_id}: no free slicer port in teraslice.slicer_port_range {range} \
             (ports {first}-{last}): {held} held by this master's execution controllers, every \
             other one in use; waiting for an execution to end (or widen the range)"
        )),
        // The scheduler's failure reason names the execution already.
        PortsExhausted::AllInUse { last_error } => {
            let detail = last_error.map_or_else(String::new, |e| format!(" (last error: {e})"));
            BackendError::Allocation(format!(
                "no slicer port for the execution controller: every port of \
                 teraslice.slicer_port_range {range} (ports {first}-{last}) is in use by other \
                 programs on this machine{detail}; free one or choose another range"
            ))
        }
    }
}

pub(crate) fn change(action: &str, ex_id: &str, n: u32) -> WorkerChange {
    WorkerChange {
        action: action.to_string(),
        ex_id: ex_id.to_string(),
        worker_num: n,
    }
}
