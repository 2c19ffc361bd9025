//! The EC's state machine: one task reacts to events from worker connections, slicer streams,
//! the control routes and timers, and decides how the execution goes. The slice queue, workers
//! and in-flight slices are in [`Dispatch`], which worker sessions also use to answer plain
//! reports themselves.
use std::collections::HashSet;
use std::sync::Arc;

use teraslice_core::execution::StatusUpdate;
use teraslice_core::job::Lifecycle;
use teraslice_core::store::{StateStore, StoreError};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::analytics::ExecutionAnalytics;
use super::handle::Control;
use super::slicers::{spawn_streams, Gate, QueuedSlice, StreamContext};
use super::state_writer::StateWriter;
use super::store_retry::StoreRetry;
use crate::ops::{Slicer, SlicerRecoveryData};
use crate::protocol::{Message, Peer, SliceReport};
use crate::timeouts::RuntimeTimeouts;
pub use dispatch::{AnalyticsContext, Dispatch, SharedDispatch};

mod dispatch;
#[cfg(test)]
mod model_tests;
mod reports;

pub enum Event {
    Joined {
        worker_id: String,
        conn: u64,
        peer: Peer,
    },
    Left {
        worker_id: String,
        conn: u64,
    },
    Available {
        worker_id: String,
        conn: u64,
    },
    /// `worker:slice:refused`: the worker will not run a slice it was sent.
    Refused {
        worker_id: String,
        conn: u64,
        slice_id: String,
    },
    /// `worker:slice:complete`; the engine answers request `request_id` on `peer` itself so
    /// the answer is queued before any later `shutdown`. A report also means "and I am idle":
    /// the worker does not send `client:available` after it, and the answer carries its next
    /// slice when one is queued.
    Report {
        worker_id: String,
        conn: u64,
        report: SliceReport,
        request_id: u64,
        peer: Peer,
    },
    /// `worker:failed`: a worker could not start its operations and exits.
    WorkerFailed {
        worker_id: String,
        error: String,
    },
    Slices(Vec<QueuedSlice>),
    SlicerFinished(u32),
    SlicerFailed(u32, String),
    Control(Control),
}

/// Why the EC stopped taking new work before the slicers were done.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Stop,
    Terminal(String),
}

struct Probation {
    failed: u64,
    processed: u64,
    next_check: Instant,
}

pub struct Engine {
    pub ex: ExecutionRecord,
    pub store: Arc<dyn StateStore>,
    pub writer: StateWriter,
    /// The outage clock shared with the writer; dispatch waits while the store is down.
    pub retry: Arc<StoreRetry>,
    store_down: watch::Receiver<bool>,
    /// The last status write failed for good: the EC exits with this error.
    pub unwritten_status: Option<StoreError>,
    pub timeouts: RuntimeTimeouts,
    pub gate: watch::Sender<Gate>,
    pub status: ExecutionStatus,
    /// Queue, workers, in-flight slices and counters, shared with the worker sessions.
    pub d: SharedDispatch,
    pub ending: Option<Ending>,
    /// A stop came before every slice was made and dispatched.
    pub interrupted: bool,
    /// Kubernetes: a stop the master did not ask for keeps the status (see
    /// `ExecutionController::relocatable_restart`).
    pub signal_keeps_status: bool,
    /// Streams still running; 0 with `slicers_done` = every slicer finished normally.
    pub slicers_running: usize,
    pub slicers_done: bool,
    pub started_at: Instant,
    probation: Option<Probation>,
    ever_joined: bool,
    /// The last `worker:failed` (`worker <id>: <error>`), added to the failure reason when no
    /// worker connects or all have left: a worker's own error says more than the timeout.
    worker_failure: Option<String>,
    /// Workers that said `worker:failed`.
    failed_workers: HashSet<String>,
    /// Whether a worker that exits is replaced (Kubernetes). When not, the execution fails as
    /// soon as every worker of the job failed to start and none joined, instead of waiting
    /// for `slicer_timeout`.
    pub workers_replaced: bool,
    all_gone_at: Option<Instant>,
    drain_deadline: Option<Instant>,
    /// Slicer streams that start when recovery finishes.
    pub deferred_streams: Option<DeferredStreams>,
    pub slicer_tasks: JoinSet<()>,
    /// A cleanup-only recovery: the execution ends once the recovered slices are done.
    pub exit_after: bool,
}

pub struct DeferredStreams {
    pub slicers: Vec<Box<dyn Slicer>>,
    pub starting_points: Vec<SlicerRecoveryData>,
    pub ctx: StreamContext,
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ex: ExecutionRecord,
        store: Arc<dyn StateStore>,
        writer: StateWriter,
        retry: Arc<StoreRetry>,
        timeouts: RuntimeTimeouts,
        gate: watch::Sender<Gate>,
        status: ExecutionStatus,
    ) -> Self {
        let analytics = AnalyticsContext {
            enabled: ex.job.analytics,
            ex_id: ex.ex_id.clone(),
            job_id: ex.job_id.clone(),
            ops: ex
                .job
                .operations
                .iter()
                .map(|op| op.op_name().to_string())
                .collect(),
        };
        let d = SharedDispatch::new(Dispatch::new(writer.clone(), retry.clone(), analytics));
        Engine {
            ex,
            store,
            writer,
            store_down: retry.subscribe(),
            retry,
            unwritten_status: None,
            timeouts,
            gate,
            status,
            d,
            ending: None,
            interrupted: false,
            signal_keeps_status: false,
            slicers_running: 0,
            slicers_done: false,
            started_at: Instant::now(),
            probation: None,
            ever_joined: false,
            worker_failure: None,
            failed_workers: HashSet::new(),
            workers_replaced: false,
            all_gone_at: None,
            drain_deadline: None,
            deferred_streams: None,
            slicer_tasks: JoinSet::new(),
            exit_after: false,
        }
    }

    fn once(&self) -> bool {
        self.ex.job.lifecycle == Lifecycle::Once
    }

    /// Every slice was made, dispatched and reported.
    pub fn done_processing(&self) -> bool {
        let d = self.d.lock();
        self.slicers_done && d.recovering.is_none() && d.queue.is_empty() && d.in_flight.is_empty()
    }

    fn is_done(&self) -> bool {
        match self.ending {
            Some(_) => self.d.lock().in_flight.is_empty(),
            None => (self.once() || self.exit_after) && self.done_processing(),
        }
    }

    /// Enqueues slices that already have `pending` records (recovery).
    pub fn enqueue(&mut self, slices: Vec<QueuedSlice>) {
        self.d.lock().enqueue(slices);
    }

    /// A snapshot of the execution's counters.
    pub fn stats(&self) -> ExecutionAnalytics {
        self.d.lock().snapshot()
    }

    /// Starts a recovery of these slices (they are queued separately).
    pub fn recover(&mut self, slice_ids: HashSet<String>) {
        self.d.lock().recovering = Some(slice_ids);
    }

    /// Runs until the execution is done, stopped, or failed.
    pub async fn run(
        &mut self,
        events: &mut mpsc::Receiver<Event>,
        failures: &mut mpsc::UnboundedReceiver<StoreError>,
    ) {
        self.started_at = Instant::now();
        self.d.lock().stats.started = Some(teraslice_core::time::now_iso());
        let wake = self.d.wake.clone();
        loop {
            self.check_recovery_done().await;
            if self.is_done() {
                return;
            }
            let slicer_deadline =
                (!self.ever_joined).then(|| self.started_at + self.timeouts.slicer_timeout);
            let gone_deadline = self
                .all_gone_at
                .map(|t| t + self.timeouts.worker_disconnect_timeout);
            let probation_at = self.probation.as_ref().map(|p| p.next_check);
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.handle(ev).await,
                    None => return,
                },
                // A session answered the last in-flight slice: maybe done.
                _ = wake.notified() => {}
                Some(err) = failures.recv() => {
                    self.terminal_error(format!("slice state could not be written to the state store: {err}")).await;
                }
                _ = sleep_until_opt(slicer_deadline) => {
                    let ms = self.timeouts.slicer_timeout.as_millis();
                    let reason = format!("No workers have connected to slicer in the allotted time: {ms} ms");
                    self.terminal_error(self.with_worker_failure(reason)).await;
                }
                _ = sleep_until_opt(gone_deadline) => {
                    let ex_id = self.ex.ex_id.clone();
                    let reason = format!("All workers from {ex_id} have disconnected");
                    self.terminal_error(self.with_worker_failure(reason)).await;
                }
                _ = sleep_until_opt(probation_at) => self.check_probation().await,
                Ok(()) = self.store_down.changed() => {
                    let down = *self.store_down.borrow_and_update();
                    tracing::info!(ex_id = %self.ex.ex_id, store_down = down, "dispatch {} while the state store is unreachable", if down { "paused" } else { "resumed" });
                }
                _ = sleep_until_opt(self.drain_deadline) => {
                    let in_flight = self.d.lock().in_flight.len();
                    tracing::warn!(ex_id = %self.ex.ex_id, in_flight, "shutdown_timeout reached with slices still in flight");
                    return;
                }
            }
            self.d.lock().dispatch();
        }
    }

    fn with_worker_failure(&self, reason: String) -> String {
        match &self.worker_failure {
            Some(failure) => format!("{reason}; the last worker to fail said: {failure}"),
            None => reason,
        }
    }

    async fn handle(&mut self, ev: Event) {
        match ev {
            Event::Joined {
                worker_id,
                conn,
                peer,
            } => {
                self.d.lock().joined(worker_id, conn, peer);
                self.ever_joined = true;
                self.all_gone_at = None;
            }
            Event::Left { worker_id, conn } => {
                if self.d.lock().left(&worker_id, conn) {
                    self.all_gone_at = Some(Instant::now());
                }
            }
            Event::Available { worker_id, conn } => {
                // Idempotent: an `Available` from a worker that is already idle (or busy) is
                // ignored, so it can never be booked twice.
                self.d.lock().mark_idle(worker_id, conn);
            }
            Event::Refused {
                worker_id,
                conn,
                slice_id,
            } => self.d.lock().refused(&worker_id, conn, &slice_id),
            Event::Report {
                worker_id,
                conn,
                report,
                request_id,
                peer,
            } => {
                self.report(&worker_id, &report).await;
                // The report doubles as `client:available`: the next queued slice rides on the
                // answer. Idle workers exist only while the queue is empty, so none is skipped.
                let mut d = self.d.lock();
                let next = d.hand_out(&worker_id, conn);
                let idle = next.is_none();
                let slice_id = report.slice_id;
                if let Err(e) =
                    peer.reply_now(request_id, Message::SliceRecorded { slice_id, next })
                {
                    // The session is closing; its `Left` puts the handed-out slice back.
                    tracing::debug!(worker_id = %worker_id, error = %e, "report answer not sent");
                }
                if idle {
                    d.mark_idle(worker_id, conn);
                }
            }
            Event::WorkerFailed { worker_id, error } => {
                self.worker_failure = Some(format!("worker {worker_id}: {error}"));
                self.failed_workers.insert(worker_id);
                let (n, workers) = (self.failed_workers.len(), self.ex.job.workers.max(1));
                if n >= workers as usize && !self.ever_joined && !self.workers_replaced {
                    let reason = format!("Every worker failed to start ({n} of {workers})");
                    self.terminal_error(self.with_worker_failure(reason)).await;
                }
            }
            Event::Slices(slices) => {
                if self.ending.is_none() {
                    self.enqueue(slices);
                }
            }
            Event::SlicerFinished(id) => {
                tracing::debug!(slicer_id = id, "slicer finished");
                self.slicers_running = self.slicers_running.saturating_sub(1);
                if self.slicers_running == 0 {
                    self.slicers_done = true;
                    self.d.lock().stats.queuing_complete = Some(teraslice_core::time::now_iso());
                }
            }
            Event::SlicerFailed(id, err) => {
                let ex_id = self.ex.ex_id.clone();
                self.slicers_running = self.slicers_running.saturating_sub(1);
                self.terminal_error(format!(
                    "slicer for ex {ex_id} had an error, shutting down execution, caused by: slicer {id}: {err}"
                ))
                .await;
            }
            Event::Control(c) => self.control(c),
        }
    }

    fn control(&mut self, c: Control) {
        match c {
            Control::Pause(reply) => {
                self.d.lock().paused = true;
                if self.ending.is_none() {
                    self.gate.send_replace(Gate::Pause);
                }
                let _ = reply.send(());
            }
            Control::Resume(reply) => {
                self.d.lock().paused = false;
                if self.ending.is_none() {
                    self.gate.send_replace(Gate::Run);
                }
                let _ = reply.send(());
            }
            Control::Stop(reply) => {
                let in_flight = self.d.lock().in_flight.len();
                tracing::info!(ex_id = %self.ex.ex_id, in_flight, "stop requested: draining in-flight slices");
                self.begin_ending(Ending::Stop);
                let _ = reply.send(());
            }
            Control::Analytics(reply) => {
                let _ = reply.send(self.stats());
            }
            Control::LogLevel(level, reply) => {
                let told = self.d.lock().tell_workers(&Message::LogLevel { level });
                let _ = reply.send(told);
            }
        }
    }

    async fn check_recovery_done(&mut self) {
        let finished = {
            let mut d = self.d.lock();
            let finished = d.recovering.as_ref().is_some_and(|r| r.is_empty());
            if finished {
                d.recovering = None;
            }
            finished
        };
        if finished {
            tracing::info!(ex_id = %self.ex.ex_id, "recovery complete");
            let start = if self.exit_after {
                None
            } else {
                self.deferred_streams.take()
            };
            if let Some(d) = start {
                if self.ending.is_none() {
                    self.start_streams(d);
                    self.set_status(ExecutionStatus::Running, None).await;
                }
            }
        }
    }

    /// Starts the slicer streams.
    pub fn start_streams(&mut self, d: DeferredStreams) {
        self.slicers_running = d.slicers.len();
        self.slicers_done = d.slicers.is_empty();
        spawn_streams(&mut self.slicer_tasks, d.slicers, d.starting_points, d.ctx);
    }

    /// Stops the slicer streams and waits (up to `shutdown_timeout`) for their `shutdown()`.
    pub async fn stop_streams(&mut self) {
        self.gate.send_replace(Gate::Stop);
        if let Some(d) = self.deferred_streams.take() {
            for mut s in d.slicers {
                if let Err(e) = s.shutdown().await {
                    tracing::warn!(error = %e, "slicer shutdown failed");
                }
            }
        }
        let wait_all = async { while self.slicer_tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.timeouts.shutdown_timeout, wait_all)
            .await
            .is_err()
        {
            tracing::warn!("slicers did not shut down within shutdown_timeout");
            self.slicer_tasks.abort_all();
        }
    }

    /// Stop making and dispatching slices; what is queued stays `pending` in the store.
    pub fn begin_ending(&mut self, why: Ending) {
        if matches!(self.ending, Some(Ending::Terminal(_))) {
            return;
        }
        self.ending = Some(why);
        let (recovering, had_queued) = {
            let mut d = self.d.lock();
            (d.recovering.is_some(), d.close())
        };
        self.interrupted = self.interrupted || !self.slicers_done || recovering || had_queued;
        self.gate.send_replace(Gate::Stop);
        self.probation = None;
        self.drain_deadline = Some(Instant::now() + self.timeouts.shutdown_timeout);
    }

    /// Fails the execution now (Teraslice `_terminalError`); in-flight slices may still finish.
    pub async fn terminal_error(&mut self, reason: String) {
        if matches!(self.ending, Some(Ending::Terminal(_))) {
            return;
        }
        tracing::error!(ex_id = %self.ex.ex_id, reason = %reason, "execution failed");
        self.set_status(ExecutionStatus::Failed, Some(reason.clone()))
            .await;
        self.begin_ending(Ending::Terminal(reason));
    }

    /// Writes a status with the current stats snapshot. A refused transition is logged.
    pub async fn set_status(&mut self, status: ExecutionStatus, reason: Option<String>) {
        let update = StatusUpdate {
            failure_reason: reason,
            slicer_stats: Some(self.stats().to_map()),
            ..Default::default()
        };
        let (store, ex_id) = (self.store.clone(), self.ex.ex_id.clone());
        let write = || store.set_execution_status(&ex_id, status, &update);
        let what = format!("execution {ex_id} status {status}");
        match self.retry.run(&what, write, || None).await {
            Ok(ex) => {
                self.status = ex.status;
                self.unwritten_status = None;
            }
            Err(e) => {
                tracing::warn!(ex_id = %self.ex.ex_id, status = %status, error = %e, "status not written");
                if matches!(e, StoreError::Unavailable(_)) {
                    if !status.is_terminal() {
                        // Running on under a status the store never got would strand the
                        // execution (the master's own retried write can land later and stay).
                        let reason = format!("the execution's status `{status}` could not be written to the state store: {e}");
                        self.begin_ending(Ending::Terminal(reason));
                    }
                    self.unwritten_status = Some(e);
                }
            }
        }
    }
}
