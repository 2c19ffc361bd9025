//! The mock backend itself.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use teraslice_core::backend::{
    Assignment, BackendError, BackendEvent, Capabilities, ClusterBackend, ClusterState,
    ControllerAddress, EventKind, NodeState, ProcessInfo, Readiness, StopOptions, WorkerChange,
    WorkerId,
};
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::{ExecutionRecord, StatusUpdate};
use teraslice_core::status::ExecutionStatus;
use teraslice_core::store::StateStore;
use tokio::sync::broadcast;

use crate::faults::Faults;
use crate::placement::{Nodes, Proc};

#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    pub nodes: usize,
    pub slots_per_node: usize,
    /// Added to every call, to make allocation concurrency observable.
    pub latency: Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            nodes: 2,
            slots_per_node: 16,
            latency: Duration::ZERO,
        }
    }
}

struct MockExecution {
    job_id: String,
    port: u16,
    procs: Vec<Proc>,
    /// Workers asked for but not yet placed for lack of slots.
    queued_workers: u32,
    next_worker: u32,
}

struct State {
    nodes: Nodes,
    executions: BTreeMap<String, MockExecution>,
    next_port: u16,
}

pub struct MockBackend {
    config: MockConfig,
    /// Where the simulated execution controllers record `running`, as real ones do.
    store: Option<Arc<dyn StateStore>>,
    state: Arc<Mutex<State>>,
    faults: Arc<Mutex<Faults>>,
    events: broadcast::Sender<BackendEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MockBackend {
    pub fn new(config: MockConfig) -> Self {
        let (events, _) = broadcast::channel(4096);
        let state = State {
            nodes: Nodes::new(config.nodes, config.slots_per_node),
            executions: BTreeMap::new(),
            next_port: 45680,
        };
        MockBackend {
            config,
            store: None,
            state: Arc::new(Mutex::new(state)),
            faults: Arc::new(Mutex::new(Faults::default())),
            events,
        }
    }

    /// Simulated controllers move their execution to `running` in `store` once their workers are
    /// ready, as a real execution controller does.
    pub fn with_store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Replaces the scripted faults; takes effect on the next call.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Free slots right now.
    pub fn free_slots(&self) -> usize {
        lock(&self.state).nodes.free()
    }

    /// Executions that have processes (or queued workers) here.
    pub fn execution_count(&self) -> usize {
        lock(&self.state).executions.len()
    }

    /// Simulates a process of `ex_id` dying (e.g. a node lost): removes it and emits its exit event.
    pub fn kill_controller(&self, ex_id: &str, code: Option<i32>) {
        kill_controller(&self.state, &self.events, ex_id, code, "killed by the test");
    }

    fn emit(&self, ex_id: &str, kind: EventKind) {
        let _ = self.events.send(BackendEvent {
            ex_id: ex_id.to_string(),
            kind,
        });
    }

    async fn call(&self) -> Result<Faults, BackendError> {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        let faults = lock(&self.faults).clone();
        if faults.unreachable {
            return Err(BackendError::Unreachable(
                "mock cluster is scripted to be unreachable".into(),
            ));
        }
        Ok(faults)
    }

    /// Places up to `n` workers of `ex_id`; the rest wait for free slots.
    fn place_workers(&self, ex_id: &str, n: u32, faults: &Faults) {
        let mut started = Vec::new();
        {
            let mut st = lock(&self.state);
            let State {
                nodes, executions, ..
            } = &mut *st;
            let Some(ex) = executions.get_mut(ex_id) else {
                return;
            };
            for _ in 0..n {
                match nodes.take() {
                    Some(node) => {
                        ex.next_worker += 1;
                        let worker_id = format!("{ex_id}-worker-{}", ex.next_worker);
                        let ready = !faults.workers_never_ready;
                        if ready {
                            started.push(worker_id.clone());
                        }
                        ex.procs.push(Proc {
                            worker_id,
                            assignment: Assignment::Worker,
                            node,
                            ready,
                        });
                    }
                    None => ex.queued_workers += 1,
                }
            }
        }
        for worker_id in started {
            self.emit(ex_id, EventKind::WorkerStarted { worker_id });
        }
    }

    fn worker_count(&self, ex_id: &str) -> Option<u32> {
        let st = lock(&self.state);
        let ex = st.executions.get(ex_id)?;
        let placed = ex
            .procs
            .iter()
            .filter(|p| p.assignment == Assignment::Worker)
            .count() as u32;
        Some(placed + ex.queued_workers)
    }

    fn remove_worker_procs(&self, ex_id: &str, n: u32) -> Vec<String> {
        let mut st = lock(&self.state);
        let State {
            nodes, executions, ..
        } = &mut *st;
        let Some(ex) = executions.get_mut(ex_id) else {
            return vec![];
        };
        let mut n = n;
        let from_queue = n.min(ex.queued_workers);
        ex.queued_workers -= from_queue;
        n -= from_queue;
        let mut removed = Vec::new();
        while n > 0 {
            let Some(pos) = ex
                .procs
                .iter()
                .rposition(|p| p.assignment == Assignment::Worker)
            else {
                break;
            };
            let p = ex.procs.remove(pos);
            nodes.release(p.node);
            removed.push(p.worker_id);
            n -= 1;
        }
        removed
    }

    /// Gives freed slots to executions whose workers are queued.
    fn place_queued(&self, faults: &Faults) {
        let waiting: Vec<(String, u32)> = {
            let mut st = lock(&self.state);
            st.executions
                .iter_mut()
                .filter(|(_, e)| e.queued_workers > 0)
                .map(|(id, e)| (id.clone(), std::mem::take(&mut e.queued_workers)))
                .collect()
        };
        for (ex_id, n) in waiting {
            self.place_workers(&ex_id, n, faults);
        }
    }
}

fn kill_controller(
    state: &Mutex<State>,
    events: &broadcast::Sender<BackendEvent>,
    ex_id: &str,
    code: Option<i32>,
    reason: &str,
) {
    let killed = {
        let mut st = lock(state);
        let State {
            nodes, executions, ..
        } = &mut *st;
        let Some(ex) = executions.get_mut(ex_id) else {
            return;
        };
        let before = ex.procs.len();
        ex.procs.retain(|p| {
            let is_ec = p.assignment == Assignment::ExecutionController;
            if is_ec {
                nodes.release(p.node);
            }
            !is_ec
        });
        before != ex.procs.len()
    };
    if killed {
        let kind = EventKind::ControllerExited {
            code,
            reason: reason.to_string(),
        };
        let _ = events.send(BackendEvent {
            ex_id: ex_id.to_string(),
            kind,
        });
    }
}

#[async_trait]
impl ClusterBackend for MockBackend {
    fn kind(&self) -> ClusterManagerType {
        ClusterManagerType::MOCK
    }

    fn capabilities(&self) -> Capabilities {
        // The mock stands in for any cluster, so it accepts every job field.
        Capabilities {
            targets: true,
            volumes: true,
            resources: true,
            pod_spec_override: true,
        }
    }

    async fn initialize(&self) -> Result<(), BackendError> {
        self.call().await.map(|_| ())
    }

    async fn shutdown(&self) -> Result<(), BackendError> {
        Ok(())
    }

    async fn ready_for_allocation(&self) -> Readiness {
        if lock(&self.faults).unreachable {
            return Readiness::NotReady {
                reason: "mock cluster is scripted to be unreachable".into(),
            };
        }
        let st = lock(&self.state);
        let free = st.nodes.free();
        if free >= 2 {
            Readiness::Ready
        } else {
            let total = st.nodes.total();
            Readiness::NotReady {
                reason: format!("no room for an execution controller and a worker: {free} of {total} slots free, 2 needed"),
            }
        }
    }

    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        let faults = self.call().await?;
        if let Some(msg) = &faults.allocation_error {
            return Err(BackendError::Allocation(msg.clone()));
        }
        let port = {
            let mut st = lock(&self.state);
            if let Some(existing) = st.executions.get(&ex.ex_id) {
                if existing
                    .procs
                    .iter()
                    .any(|p| p.assignment == Assignment::ExecutionController)
                {
                    return Ok(ControllerAddress {
                        hostname: "127.0.0.1".into(),
                        port: existing.port,
                    });
                }
            }
            let node = st.nodes.take().ok_or_else(|| {
                BackendError::Allocation(format!(
                    "no free slot for the execution controller of {}",
                    ex.ex_id
                ))
            })?;
            st.next_port = st.next_port.wrapping_add(1).max(45680);
            let port = st.next_port;
            let entry = st
                .executions
                .entry(ex.ex_id.clone())
                .or_insert_with(|| MockExecution {
                    job_id: ex.job_id.clone(),
                    port,
                    procs: vec![],
                    queued_workers: 0,
                    next_worker: 0,
                });
            entry.procs.push(Proc {
                worker_id: format!("{}-execution-controller", ex.ex_id),
                assignment: Assignment::ExecutionController,
                node,
                ready: true,
            });
            entry.port
        };
        self.emit(&ex.ex_id, EventKind::ControllerStarted);
        if let Some(after) = faults.controller_exits_after {
            let (state, events, ex_id) =
                (self.state.clone(), self.events.clone(), ex.ex_id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                kill_controller(
                    &state,
                    &events,
                    &ex_id,
                    Some(1),
                    "scripted fault: controller exits",
                );
            });
        }
        Ok(ControllerAddress {
            hostname: "127.0.0.1".into(),
            port,
        })
    }

    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        let faults = self.call().await?;
        let have = self.worker_count(&ex.ex_id).ok_or_else(|| {
            BackendError::Allocation(format!(
                "execution {} has no execution controller",
                ex.ex_id
            ))
        })?;
        // Idempotent: only the missing part of the initial set is started.
        self.place_workers(&ex.ex_id, workers.saturating_sub(have), &faults);
        if let (Some(store), false) = (&self.store, faults.workers_never_ready) {
            let ready = store
                .set_execution_status(
                    &ex.ex_id,
                    ExecutionStatus::Running,
                    &StatusUpdate::default(),
                )
                .await;
            if let Err(e) = ready {
                tracing::debug!(ex_id = %ex.ex_id, error = %e, "simulated controller could not record running");
            }
        }
        Ok(())
    }

    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        let faults = self.call().await?;
        self.worker_count(&ex.ex_id)
            .ok_or_else(|| BackendError::UnknownExecution(ex.ex_id.clone()))?;
        self.place_workers(&ex.ex_id, n, &faults);
        Ok(WorkerChange {
            action: "add".into(),
            ex_id: ex.ex_id.clone(),
            worker_num: n,
        })
    }

    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        let faults = self.call().await?;
        let have = self
            .worker_count(ex_id)
            .ok_or_else(|| BackendError::UnknownExecution(ex_id.to_string()))?;
        if n >= have {
            return Err(BackendError::InvalidRequest(format!(
                "cannot remove {n} workers of execution {ex_id}: it has {have}, at least one must remain"
            )));
        }
        for worker_id in self.remove_worker_procs(ex_id, n) {
            let kind = EventKind::WorkerExited {
                worker_id,
                code: Some(0),
                reason: "removed".into(),
            };
            self.emit(ex_id, kind);
        }
        self.place_queued(&faults);
        Ok(WorkerChange {
            action: "remove".into(),
            ex_id: ex_id.to_string(),
            worker_num: n,
        })
    }

    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        let have = self
            .worker_count(&ex.ex_id)
            .ok_or_else(|| BackendError::UnknownExecution(ex.ex_id.clone()))?;
        if total > have {
            self.add_workers(ex, total - have).await?;
        } else if total < have {
            self.remove_workers(&ex.ex_id, have - total).await?;
        }
        Ok(WorkerChange {
            action: "set".into(),
            ex_id: ex.ex_id.clone(),
            worker_num: total,
        })
    }

    async fn stop_execution(&self, ex_id: &str, _opts: &StopOptions) -> Result<(), BackendError> {
        let faults = self.call().await?;
        let removed = {
            let mut st = lock(&self.state);
            let State {
                nodes, executions, ..
            } = &mut *st;
            match executions.remove(ex_id) {
                Some(ex) => {
                    for p in &ex.procs {
                        nodes.release(p.node);
                    }
                    true
                }
                None => false,
            }
        };
        if removed {
            self.emit(ex_id, EventKind::Stopped);
            self.place_queued(&faults);
        }
        Ok(())
    }

    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        self.call().await?;
        let st = lock(&self.state);
        let mut state = ClusterState::new();
        for (i, used) in st.nodes.used.iter().enumerate() {
            let node_id = format!("mock-node-{i}");
            let total = Some(st.nodes.slots_per_node as u32);
            let available = Some((st.nodes.slots_per_node - used) as u32);
            state.insert(
                node_id.clone(),
                NodeState::connected(&node_id, total, available),
            );
        }
        for (ex_id, ex) in &st.executions {
            for p in ex.procs.iter().filter(|p| p.ready) {
                if let Some(node) = state.get_mut(&format!("mock-node-{}", p.node)) {
                    node.active.push(ProcessInfo {
                        worker_id: WorkerId::Name(p.worker_id.clone()),
                        assignment: p.assignment,
                        ex_id: ex_id.clone(),
                        job_id: ex.job_id.clone(),
                        pid: None,
                        pod_name: None,
                        pod_ip: None,
                        image: None,
                        assets: vec![],
                    });
                }
            }
        }
        Ok(state)
    }

    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.events.subscribe()
    }
}
