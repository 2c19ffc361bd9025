//! What the backend tracks: the executions it was asked to run and the commands it started.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use teraslice_core::backend::{Assignment, BackendEvent, EventKind, ProcessInfo};
use teraslice_core::ExecutionRecord;
use tokio::sync::{broadcast, watch};

use crate::config::CommandConfig;

/// One started command (the leader of its own process group).
pub(crate) struct Proc {
    pub info: ProcessInfo,
    /// `ec` or `worker-<n>`: the log file name and the worker id in events.
    pub name: String,
    /// The slicer port an execution controller was given.
    pub port: Option<u16>,
    /// Set by a stop, so the exit is not reported as a failure.
    pub stopping: bool,
    /// Becomes true once the command has been reaped.
    pub exited: watch::Receiver<bool>,
}

/// An execution the scheduler allocated here.
pub(crate) struct Execution {
    pub record: ExecutionRecord,
    /// Numbers the workers' names.
    pub workers_started: u32,
}

#[derive(Default)]
pub(crate) struct State {
    pub executions: HashMap<String, Execution>,
    /// By pid.
    pub procs: BTreeMap<u32, Proc>,
    pub shut_down: bool,
}

impl State {
    /// The running controller of `ex_id`.
    pub fn controller(&self, ex_id: &str) -> Option<&Proc> {
        self.procs
            .values()
            .find(|p| p.info.ex_id == ex_id && p.info.assignment == Assignment::ExecutionController)
    }

    /// The running workers of `ex_id` not being stopped, by pid (oldest first).
    pub fn workers(&self, ex_id: &str) -> Vec<u32> {
        self.procs
            .iter()
            .filter(|(_, p)| {
                p.info.ex_id == ex_id && p.info.assignment == Assignment::Worker && !p.stopping
            })
            .map(|(pid, _)| *pid)
            .collect()
    }

    pub fn ports_in_use(&self) -> impl Iterator<Item = u16> + '_ {
        self.procs.values().filter_map(|p| p.port)
    }
}

/// Shared between the backend and the tasks that reap its commands.
pub(crate) struct Shared {
    pub cfg: CommandConfig,
    state: Mutex<State>,
    pub events: broadcast::Sender<BackendEvent>,
}

impl Shared {
    pub fn new(cfg: CommandConfig) -> Self {
        Shared {
            cfg,
            state: Mutex::new(State::default()),
            events: broadcast::channel(1024).0,
        }
    }

    /// The state; a panic while it was held leaves it usable (every change is one step).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn emit(&self, ex_id: &str, kind: EventKind) {
        // No subscriber is fine: nobody is waiting for this execution's events.
        let _ = self.events.send(BackendEvent {
            ex_id: ex_id.to_string(),
            kind,
        });
    }
}
