//! What the backend runs: live processes, known executions, the queue of workers waiting for a
//! slot, held slicer ports; plus starting a process and reaping it when it exits.
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nix::sys::signal::Signal;
use teraslice_core::backend::{Assignment, BackendEvent, EventKind, ProcessInfo, WorkerId};
use teraslice_core::ExecutionRecord;
use tokio::process::Child;
use tokio::sync::{broadcast, watch};

use crate::config::NativeConfig;
use crate::ports::{PortPool, SlicerSocket};
use crate::process::{describe_exit, last_error_line, log_path, signal_group, spawn};

/// One live child (the leader of its own process group, so `pid` is also its group id).
#[derive(Debug)]
pub(crate) struct Proc {
    pub info: ProcessInfo,
    /// The slicer port an execution controller holds until it is reaped.
    pub port: Option<u16>,
    /// Set once a stop or a worker removal has signalled it; its exit is then expected.
    pub stopping: bool,
    /// Turns `true` once the process has been reaped.
    pub exited: watch::Receiver<bool>,
    /// Start order on this backend.
    pub seq: u64,
    /// `ec` or `worker-<n>`: its log file's name and the id in its events.
    pub name: String,
}

/// An execution this backend has started processes for.
#[derive(Debug)]
pub(crate) struct Execution {
    /// The record children get in `EX`, with `slicer_hostname`/`slicer_port` once its EC runs.
    pub record: ExecutionRecord,
    /// Workers started so far; names the next one `worker-<n+1>`.
    pub started_workers: u32,
    /// Workers started again after they crashed (bounded, so a crash loop ends).
    pub replaced_workers: u32,
}

#[derive(Debug)]
pub(crate) struct State {
    pub procs: BTreeMap<u32, Proc>,
    pub executions: BTreeMap<String, Execution>,
    /// One entry (an ex_id) per worker waiting for a free slot, oldest first.
    pub queue: VecDeque<String>,
    pub ports: PortPool,
    pub shut_down: bool,
    /// Processes started so far.
    pub launched: u64,
}

impl State {
    pub(crate) fn in_use(&self) -> usize {
        self.procs.len()
    }

    /// The execution's running controller, unless it is being stopped.
    pub(crate) fn controller(&self, ex_id: &str) -> Option<&Proc> {
        self.procs.values().find(|p| {
            !p.stopping
                && p.info.ex_id == ex_id
                && p.info.assignment == Assignment::ExecutionController
        })
    }

    /// Pids of the execution's workers that are not being stopped, oldest first.
    pub(crate) fn running_workers(&self, ex_id: &str) -> Vec<u32> {
        let mut workers: Vec<(u64, u32)> = self
            .procs
            .iter()
            .filter(|(_, p)| {
                !p.stopping && p.info.ex_id == ex_id && p.info.assignment == Assignment::Worker
            })
            .map(|(pid, p)| (p.seq, *pid))
            .collect();
        workers.sort_unstable();
        workers.into_iter().map(|(_, pid)| pid).collect()
    }

    pub(crate) fn queued_workers(&self, ex_id: &str) -> usize {
        self.queue.iter().filter(|id| *id == ex_id).count()
    }

    /// Remembers `ex` as what children get, keeping the slicer address its EC was given.
    pub(crate) fn remember(&mut self, ex: &ExecutionRecord) {
        let entry = self
            .executions
            .entry(ex.ex_id.clone())
            .or_insert_with(|| Execution {
                record: ex.clone(),
                started_workers: 0,
                replaced_workers: 0,
            });
        let host = entry.record.slicer_hostname.take();
        let port = entry.record.slicer_port.take();
        entry.record = ex.clone();
        entry.record.slicer_hostname = entry.record.slicer_hostname.take().or(host);
        entry.record.slicer_port = entry.record.slicer_port.or(port);
    }
}

/// State shared by the backend handle and the tasks that wait on children.
pub(crate) struct Shared {
    pub cfg: NativeConfig,
    state: Mutex<State>,
    pub events: broadcast::Sender<BackendEvent>,
}

impl Shared {
    pub(crate) fn new(cfg: NativeConfig) -> Self {
        let ports = PortPool::on(
            cfg.slicer_port_range,
            crate::ports::slicer_bind_host(&cfg.hostname),
        );
        Shared {
            cfg,
            state: Mutex::new(State {
                procs: BTreeMap::new(),
                executions: BTreeMap::new(),
                queue: VecDeque::new(),
                ports,
                shut_down: false,
                launched: 0,
            }),
            events: broadcast::channel(1024).0,
        }
    }

    /// The state; a panic elsewhere while holding it leaves it usable (every update is one step).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn emit(&self, ex_id: &str, kind: EventKind) {
        tracing::debug!(ex_id, ?kind, "native backend event");
        // No subscriber is fine: events are a notification, not a queue.
        let _ = self.events.send(BackendEvent {
            ex_id: ex_id.to_string(),
            kind,
        });
    }

    pub(crate) fn free_slots(&self, st: &State) -> usize {
        self.cfg.slots.saturating_sub(st.in_use())
    }

    /// Starts one process of a remembered execution; a failure is also an `Unschedulable` event.
    /// An execution controller gets `socket`, its bound slicer port; this process's copy of the
    /// socket is closed once the child has it, so the port is free again when the child exits.
    pub(crate) fn launch(
        self: &Arc<Self>,
        st: &mut State,
        ex_id: &str,
        assignment: Assignment,
        socket: Option<SlicerSocket>,
    ) -> Result<u32, String> {
        let result = self.try_launch(st, ex_id, assignment, socket);
        if let Err(reason) = &result {
            tracing::warn!(ex_id, reason, "native backend cannot start a process");
            self.emit(
                ex_id,
                EventKind::Unschedulable {
                    reason: reason.clone(),
                },
            );
        }
        result
    }

    fn try_launch(
        self: &Arc<Self>,
        st: &mut State,
        ex_id: &str,
        assignment: Assignment,
        socket: Option<SlicerSocket>,
    ) -> Result<u32, String> {
        let port = socket.as_ref().map(|s| s.port);
        let ex = st
            .executions
            .get_mut(ex_id)
            .ok_or_else(|| format!("execution {ex_id} is not allocated on this node"))?;
        let name = match assignment {
            Assignment::ExecutionController => "ec".to_string(),
            Assignment::Worker => format!("worker-{}", ex.started_workers + 1),
        };
        let listener = socket.as_ref().map(|s| &s.listener);
        let child = spawn(&self.cfg, &ex.record, assignment, &name, listener)?;
        // The child has the socket now; ours must not keep the port bound after it exits.
        drop(socket);
        let pid = child
            .id()
            .ok_or_else(|| format!("{name} of execution {ex_id} exited before it had a pid"))?;
        if assignment == Assignment::Worker {
            ex.started_workers += 1;
        }
        st.launched += 1;
        let seq = st.launched;
        let info = ProcessInfo {
            // Teraslice numbers a node's processes from 1; the master's two come first.
            worker_id: WorkerId::Number(seq + 2),
            assignment,
            ex_id: ex_id.to_string(),
            job_id: ex.record.job_id.clone(),
            pid: Some(pid),
            pod_name: None,
            pod_ip: None,
            image: None,
            assets: ex.record.job.assets.clone().unwrap_or_default(),
        };
        let (done, exited) = watch::channel(false);
        st.procs.insert(
            pid,
            Proc {
                info,
                port,
                stopping: false,
                exited,
                seq,
                name: name.clone(),
            },
        );
        tracing::info!(ex_id, pid, name, "native backend started a process");
        self.emit(
            ex_id,
            match assignment {
                Assignment::ExecutionController => EventKind::ControllerStarted,
                Assignment::Worker => EventKind::WorkerStarted { worker_id: name },
            },
        );
        tokio::spawn(Arc::clone(self).reap(pid, child, done));
        Ok(pid)
    }

    /// A crashed worker of a running execution is started again, as a Deployment keeps its
    /// replicas (Teraslice re-forks crashed children); at most 3 times the job's worker count.
    fn replace_worker(&self, st: &mut State, ex_id: &str) {
        if st.shut_down || st.controller(ex_id).is_none() {
            return;
        }
        let Some(ex) = st.executions.get_mut(ex_id) else {
            return;
        };
        if ex.replaced_workers >= 3 * ex.record.job.workers.max(1) {
            tracing::warn!(
                ex_id,
                "not replacing crashed workers any more: too many crashes"
            );
            return;
        }
        ex.replaced_workers += 1;
        tracing::info!(ex_id, "replacing a crashed worker");
        st.queue.push_front(ex_id.to_string());
    }

    /// Starts queued workers while slots are free; workers of an execution whose controller is
    /// gone are dropped (nothing would give them work).
    pub(crate) fn drain_queue(self: &Arc<Self>, st: &mut State) {
        while self.free_slots(st) > 0 {
            let Some(ex_id) = st.queue.pop_front() else {
                return;
            };
            if st.controller(&ex_id).is_none() {
                continue;
            }
            // A failed start was reported as an event; the next queued worker still gets its turn.
            let _ = self.launch(st, &ex_id, Assignment::Worker, None);
        }
    }

    /// Waits for the child, then frees its slot and port, reports the exit and fills the slot.
    async fn reap(self: Arc<Self>, pid: u32, mut child: Child, done: watch::Sender<bool>) {
        let status = child.wait().await;
        {
            let mut st = self.state();
            if let Some(p) = st.procs.remove(&pid) {
                if let Some(port) = p.port {
                    st.ports.release(port);
                }
                // What the process started dies with it: orphans would run outside any slot.
                // Right after the reap, so the group id cannot have been reused yet.
                signal_group(pid, Signal::SIGKILL);
                let (code, mut reason) = match status {
                    Ok(s) => describe_exit(s),
                    Err(e) => (None, format!("cannot be waited for: {e}")),
                };
                if p.stopping {
                    reason.push_str(" after a stop request");
                }
                if code.is_some_and(|c| c != 0)
                    && p.info.assignment == Assignment::ExecutionController
                {
                    // The EC's own error says why (e.g. its final status could not be written).
                    let log = log_path(&self.cfg.log_dir, &p.info.ex_id, "ec");
                    if let Some(line) = last_error_line(&log) {
                        reason = format!("{reason}: {line}");
                    }
                }
                tracing::info!(ex_id = p.info.ex_id, pid, reason, "native process exited");
                let kind = match p.info.assignment {
                    Assignment::ExecutionController => EventKind::ControllerExited { code, reason },
                    Assignment::Worker => EventKind::WorkerExited {
                        worker_id: p.name.clone(),
                        code,
                        reason,
                    },
                };
                let crashed = matches!(kind, EventKind::WorkerExited { code, .. } if code != Some(0))
                    && !p.stopping;
                self.emit(&p.info.ex_id, kind);
                if crashed {
                    self.replace_worker(&mut st, &p.info.ex_id);
                }
            }
            self.drain_queue(&mut st);
        }
        // The receiver may be gone; nobody waits for this process then.
        let _ = done.send(true);
    }

    /// SIGKILLs every process group at once (the backend handle was dropped without shutdown).
    pub(crate) fn kill_all(&self) {
        let st = self.state();
        for pid in st.procs.keys() {
            signal_group(*pid, Signal::SIGKILL);
        }
    }
}
