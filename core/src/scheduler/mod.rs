//! The scheduler (Teraslice's execution service, improved): a pending queue drained by an
//! allocation loop that allocates several executions at once; executions wait in `pending` with
//! a visible reason while the backend is not ready; allocation errors and fatal backend events
//! fail the execution with the reason; stop / pause / resume / scaling; and on start it
//! reconciles every non-terminal execution with what the backend reports (adopt or fail).
mod allocate;
mod controller;
mod error;
mod events;
mod operations;
mod reconcile;
mod stopping;
mod store_retry;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

pub use controller::{ControllerClient, ControllerError};
pub use error::{SchedulerError, SchedulerResult};
pub use store_retry::STORE_RETRY_MAX_DELAY;

use crate::backend::ClusterBackend;
use crate::store::StateStore;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Executions allocated at the same time (Teraslice allocates one at a time).
    pub allocation_concurrency: usize,
    /// Grace period given to processes on a graceful stop (`shutdown_timeout`); also how long an
    /// execution may stay `stopping` before it is reaped to `stopped`.
    pub shutdown_timeout: Duration,
    /// How often `stopping` executions are checked for remaining processes (Teraslice: 3 s).
    pub stop_poll: Duration,
    /// How often the allocator re-checks a backend that was not ready.
    pub retry_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            allocation_concurrency: 8,
            shutdown_timeout: Duration::from_secs(60),
            stop_poll: Duration::from_millis(500),
            retry_interval: Duration::from_millis(500),
        }
    }
}

pub struct Scheduler {
    store: Arc<dyn StateStore>,
    backend: Arc<dyn ClusterBackend>,
    controllers: Arc<dyn ControllerClient>,
    config: SchedulerConfig,
    queue: Mutex<VecDeque<String>>,
    wake: Notify,
    slots: Arc<Semaphore>,
    /// Why queued executions are not being allocated right now.
    pending_reason: Mutex<Option<String>>,
    /// Executions in `stopping`, watched until their processes are gone, with their failed
    /// force-stops (retried with backoff).
    stopping: Mutex<HashMap<String, stopping::Watch>>,
    tasks: Mutex<JoinSet<()>>,
    /// Set by [`Scheduler::shutdown`]: store retries give up.
    shut_down: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Holders never leave the data half-updated, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scheduler {
    pub fn new(
        store: Arc<dyn StateStore>,
        backend: Arc<dyn ClusterBackend>,
        controllers: Arc<dyn ControllerClient>,
        config: SchedulerConfig,
    ) -> Arc<Self> {
        let slots = Arc::new(Semaphore::new(config.allocation_concurrency.max(1)));
        Arc::new(Scheduler {
            store,
            backend,
            controllers,
            config,
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            slots,
            pending_reason: Mutex::new(None),
            stopping: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
            shut_down: AtomicBool::new(false),
        })
    }

    /// Reconciles what a previous master left behind, then runs the allocation loop, the backend
    /// event loop and the stop watcher until [`Scheduler::shutdown`].
    pub async fn start(self: &Arc<Self>) -> SchedulerResult<()> {
        // Subscribe before reconciling so no event between the two is missed.
        let events = self.backend.subscribe();
        self.reconcile().await?;
        let mut tasks = lock(&self.tasks);
        tasks.spawn(self.clone().allocation_loop());
        tasks.spawn(self.clone().event_loop(events));
        tasks.spawn(self.clone().stop_watcher());
        Ok(())
    }

    /// Stops the scheduler's loops; executions are left as they are.
    pub fn shutdown(&self) {
        self.shut_down.store(true, Ordering::SeqCst);
        lock(&self.tasks).abort_all();
    }

    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    pub fn backend(&self) -> &Arc<dyn ClusterBackend> {
        &self.backend
    }

    /// Why queued executions wait, if they do.
    pub fn pending_reason(&self) -> Option<String> {
        lock(&self.pending_reason).clone()
    }

    /// Executions waiting in the queue, in order.
    pub fn queued(&self) -> Vec<String> {
        lock(&self.queue).iter().cloned().collect()
    }

    fn enqueue(&self, ex_id: String) {
        lock(&self.queue).push_back(ex_id);
        self.wake.notify_one();
    }
}
