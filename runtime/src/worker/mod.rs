//! The worker: connects to its EC, takes one slice at a time (it asks only when idle), runs
//! fetcher → processors with retries, and reports the result with per-op analytics.
//!
//! The worker writes nothing to the store: the EC is the single writer of slice state and
//! analytics. That keeps one ordered stream of updates per execution (batched writes, no
//! lost update between a worker's late `completed` and the EC's re-dispatch), lets the EC
//! ignore the duplicate report of a re-dispatched slice so each slice is `completed` once,
//! and gives SQLite one writer per execution. The store is only read, to tell "my EC is
//! gone because the execution ended" from "my EC is unreachable".
mod connection;
mod pipeline;

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Serialize;
use teraslice_core::store::StateStore;
use teraslice_core::ExecutionRecord;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{RuntimeError, TransportError};
use crate::ops::{OpRegistry, Slice};
use crate::protocol::{Message, SliceReport};
use crate::timeouts::RuntimeTimeouts;
pub use connection::worker_url;
use connection::{connect_once, EcConnection};
use pipeline::{Pipeline, SliceRun};

#[derive(Clone)]
pub struct WorkerOptions {
    pub registry: Arc<OpRegistry>,
    pub timeouts: RuntimeTimeouts,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            registry: Arc::new(OpRegistry::with_builtins()),
            timeouts: RuntimeTimeouts::default(),
        }
    }
}

/// Why the worker exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkerExit {
    /// [`WorkerHandle::shutdown`] (SIGTERM in the binary).
    ShutdownRequested,
    /// The EC said `shutdown`.
    ControllerShutdown,
    /// The EC is gone and the execution is in a terminal status.
    ExecutionFinished,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerOutcome {
    pub worker_id: String,
    pub slices_processed: u64,
    pub slices_failed: u64,
    pub exit: WorkerExit,
}

/// Asks a running worker to finish its current slice and exit.
#[derive(Clone)]
pub struct WorkerHandle(Arc<watch::Sender<bool>>);

impl WorkerHandle {
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

pub struct Worker {
    ex: ExecutionRecord,
    store: Arc<dyn StateStore>,
    url: String,
    worker_id: String,
    opts: WorkerOptions,
    shutdown: Arc<watch::Sender<bool>>,
    processed: u64,
    failed: u64,
    /// `<index>:<_op>` of each operation: the `op` label of the per-op metrics.
    op_labels: Vec<String>,
    /// Their `op_duration_seconds` histograms, looked up at the first slice (metrics on).
    op_histograms: Option<Vec<crate::metrics::Histogram>>,
}

enum Step {
    Exit(WorkerExit),
    Reconnect,
}

/// How a slice report went.
enum Reported {
    /// `slice:recorded`, with the next slice when the EC had one queued; without one the EC
    /// counts the worker as idle.
    Recorded(Option<Slice>),
    /// The EC answered `error`.
    Refused,
    /// Not delivered (connection lost or no answer): resend after reconnecting.
    No(SliceReport),
}

impl Worker {
    /// `ec_address`: `host:port` of the EC (or a `ws://…` URL).
    pub fn new(
        ex: ExecutionRecord,
        store: Arc<dyn StateStore>,
        ec_address: &str,
        worker_id: impl Into<String>,
        opts: WorkerOptions,
    ) -> Self {
        let op_labels = ex
            .job
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| format!("{i}:{}", op.op_name()))
            .collect();
        Worker {
            op_labels,
            op_histograms: None,
            ex,
            store,
            url: worker_url(ec_address),
            worker_id: worker_id.into(),
            opts,
            shutdown: Arc::new(watch::channel(false).0),
            processed: 0,
            failed: 0,
        }
    }

    pub fn handle(&self) -> WorkerHandle {
        WorkerHandle(self.shutdown.clone())
    }

    /// Runs until shut down. `Err` when the ops cannot be built or initialised, when the EC
    /// stays unreachable for `slicer_timeout` while the execution is still live, or when an
    /// op fails fatally.
    pub async fn run(mut self) -> Result<WorkerOutcome, RuntimeError> {
        let mut pipeline = match self.start_pipeline().await {
            Ok(pipeline) => pipeline,
            Err(e) => {
                self.report_failure(&e).await;
                return Err(e);
            }
        };
        let result = self.serve(&mut pipeline).await;
        if matches!(
            result,
            Ok(WorkerExit::ShutdownRequested | WorkerExit::ControllerShutdown)
        ) {
            pipeline.flush().await;
        }
        pipeline.shutdown().await;
        tracing::info!(worker_id = %self.worker_id, processed = self.processed, "worker exiting");
        let exit = result?;
        Ok(WorkerOutcome {
            worker_id: self.worker_id,
            slices_processed: self.processed,
            slices_failed: self.failed,
            exit,
        })
    }

    async fn start_pipeline(&self) -> Result<Pipeline, RuntimeError> {
        let mut pipeline = Pipeline::build(&self.opts.registry, &self.ex, &self.worker_id)?;
        pipeline.initialize().await?;
        Ok(pipeline)
    }

    /// Tells the EC why this worker cannot start (best effort, a few seconds at most), so the
    /// execution's failure reason can name the cause instead of only a timeout.
    async fn report_failure(&self, error: &RuntimeError) {
        let limit = self
            .opts
            .timeouts
            .heartbeat_timeout
            .min(Duration::from_secs(5));
        let started = Instant::now();
        let message = error.to_string();
        loop {
            let attempt = connection::send_failure_once(
                &self.url,
                &self.worker_id,
                &self.ex.ex_id,
                self.ex.control_secret.as_deref(),
                limit,
                &message,
            )
            .await;
            match attempt {
                Ok(()) => return,
                Err(e) if started.elapsed() >= limit => {
                    tracing::warn!(url = %self.url, error = %e, "could not tell the execution controller why this worker failed");
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn shutdown_requested(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn serve(&mut self, pipeline: &mut Pipeline) -> Result<WorkerExit, RuntimeError> {
        let mut unreported: Option<(SliceReport, Option<String>)> = None;
        let mut draining = false;
        loop {
            let mut conn = match self.connect().await {
                Ok(conn) => conn,
                Err(Some(e)) => return Err(e),
                Err(None) => return Ok(WorkerExit::ExecutionFinished),
            };
            let mut next = None;
            if let Some((report, fatal)) = unreported.take() {
                match self.report(&mut conn, pipeline, report).await {
                    Reported::No(report) => {
                        unreported = Some((report, fatal));
                        continue;
                    }
                    Reported::Recorded(slice) => next = slice,
                    Reported::Refused => {}
                }
                if let Some(reason) = fatal {
                    refuse(&mut conn, next.take()).await;
                    return Err(fatal_error(&reason));
                }
            }
            if draining || self.shutdown_requested() {
                refuse(&mut conn, next.take()).await;
                let _ = conn.send(Message::ClientShutdown).await;
                return Ok(WorkerExit::ShutdownRequested);
            }
            match self
                .session(&mut conn, pipeline, next, &mut unreported, &mut draining)
                .await?
            {
                Step::Exit(exit) => return Ok(exit),
                Step::Reconnect => continue,
            }
        }
    }

    /// One connection's life: announce, take a slice, run it, report, repeat. `client:available`
    /// goes out once per connection (before the first slice, unless the EC already handed one
    /// over); after that every recorded report also tells the EC the worker is idle, and its
    /// answer carries the next slice when there is one, so the worker never asks twice (no
    /// double booking) and a busy execution costs one round trip per slice.
    async fn session(
        &mut self,
        conn: &mut EcConnection,
        pipeline: &mut Pipeline,
        mut next: Option<Slice>,
        unreported: &mut Option<(SliceReport, Option<String>)>,
        draining: &mut bool,
    ) -> Result<Step, RuntimeError> {
        let mut shutdown = self.shutdown.subscribe();
        let mut ask = next.is_none();
        loop {
            if self.shutdown_requested() {
                refuse(conn, next.take()).await;
                let _ = conn.send(Message::ClientShutdown).await;
                return Ok(Step::Exit(WorkerExit::ShutdownRequested));
            }
            if ask {
                if conn.send(Message::Available).await.is_err() {
                    return Ok(lost(conn));
                }
                ask = false;
            }
            let slice = match next.take() {
                Some(slice) => slice,
                None => {
                    let env = tokio::select! {
                        env = conn.recv() => env,
                        _ = shutdown.changed() => continue,
                    };
                    let Some(env) = env else {
                        tracing::debug!(worker_id = %self.worker_id, "connection to the EC lost while idle");
                        return Ok(lost(conn));
                    };
                    tracing::debug!(worker_id = %self.worker_id, event = env.message.event(), "message from the EC");
                    match env.message {
                        Message::Shutdown => return Ok(Step::Exit(WorkerExit::ControllerShutdown)),
                        Message::SliceNew(slice) => slice,
                        Message::LogLevel { level } => {
                            set_log_level(&level);
                            continue;
                        }
                        other => {
                            tracing::debug!(event = other.event(), "ignoring a message while idle");
                            continue;
                        }
                    }
                }
            };
            let (run, connected, ec_shutdown) =
                run_watching(conn, pipeline, &slice, &mut shutdown).await;
            *draining |= ec_shutdown;
            let fatal = run
                .result
                .as_ref()
                .err()
                .filter(|e| e.fatal)
                .map(|e| e.to_string());
            let report = self.make_report(slice, run);
            if !connected {
                *unreported = Some((report, fatal));
                return Ok(Step::Reconnect);
            }
            match self.report(conn, pipeline, report).await {
                Reported::Recorded(slice) => next = slice,
                // The EC did not take the report, so it may not count it as `available` either;
                // asking again is harmless (the EC ignores `available` from an idle worker).
                Reported::Refused => ask = true,
                Reported::No(report) => {
                    *unreported = Some((report, fatal));
                    return Ok(Step::Reconnect);
                }
            }
            if let Some(reason) = fatal {
                refuse(conn, next.take()).await;
                return Err(fatal_error(&reason));
            }
            if *draining {
                refuse(conn, next.take()).await;
                let _ = conn.send(Message::ClientShutdown).await;
                return Ok(Step::Exit(if ec_shutdown {
                    WorkerExit::ControllerShutdown
                } else {
                    WorkerExit::ShutdownRequested
                }));
            }
        }
    }

    fn make_report(&mut self, slice: Slice, run: SliceRun) -> SliceReport {
        self.processed += 1;
        if let Some(m) = crate::metrics::runtime() {
            let ops = self
                .op_histograms
                .get_or_insert_with(|| m.op_histograms(&self.op_labels));
            match &run.result {
                Ok(a) => m.worker_slice(ops, &a.time, &a.size, false),
                Err(_) => m.worker_slice(&[], &[], &[], true),
            }
        }
        match run.result {
            Ok(analytics) => SliceReport {
                slice_id: slice.slice_id,
                analytics: Some(analytics),
                error: None,
                retry_count: run.retry_count,
            },
            Err(e) => {
                self.failed += 1;
                SliceReport {
                    slice_id: slice.slice_id,
                    analytics: None,
                    error: Some(e.to_string()),
                    retry_count: run.retry_count,
                }
            }
        }
    }

    /// Sends the report until the EC records it; returns it back if the connection failed.
    async fn report(
        &self,
        conn: &mut EcConnection,
        pipeline: &mut Pipeline,
        report: SliceReport,
    ) -> Reported {
        let ok = report.error.is_none();
        let slice_id = report.slice_id.clone();
        let timeout = self.opts.timeouts.request_timeout();
        match conn
            .request(Message::SliceComplete(report.clone()), timeout)
            .await
        {
            Ok(answer) => {
                if ok {
                    pipeline.finished(&slice_id).await;
                }
                match answer {
                    Message::SliceRecorded { next, .. } => Reported::Recorded(next),
                    _ => Reported::Recorded(None),
                }
            }
            Err(TransportError::Remote { message, .. }) => {
                tracing::warn!(slice_id = %slice_id, error = %message, "the EC refused the slice report");
                Reported::Refused
            }
            Err(e) => {
                tracing::warn!(slice_id = %slice_id, error = %e, "slice report not delivered; will resend after reconnecting");
                Reported::No(report)
            }
        }
    }

    /// Connects with backoff (jittered, so workers that lost their EC together do not retry in
    /// step). `Err(None)`: the execution has ended, nothing to do.
    async fn connect(&self) -> Result<EcConnection, Option<RuntimeError>> {
        let started = Instant::now();
        let limit = self.opts.timeouts.slicer_timeout;
        // At most about 1 s apart: a worker usually starts beside its EC and should join the
        // moment the EC listens (one store read per try, to notice the end).
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(700))
            .with_jitter()
            .without_max_times()
            .build();
        loop {
            let timeout = self.opts.timeouts.heartbeat_timeout;
            match connect_once(
                &self.url,
                &self.worker_id,
                &self.ex.ex_id,
                self.ex.control_secret.as_deref(),
                timeout,
            )
            .await
            {
                Ok(conn) => {
                    tracing::info!(worker_id = %self.worker_id, url = %self.url, "connected to the execution controller");
                    return Ok(conn);
                }
                Err(last_error) => {
                    if self.execution_ended().await {
                        return Err(None);
                    }
                    if started.elapsed() >= limit {
                        return Err(Some(RuntimeError::Connect {
                            url: self.url.clone(),
                            after: limit,
                            last_error,
                        }));
                    }
                    tracing::debug!(url = %self.url, error = %last_error, "cannot reach the execution controller yet");
                    let delay = delays.next().unwrap_or(Duration::from_secs(1));
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn execution_ended(&self) -> bool {
        self.store
            .get_execution(&self.ex.ex_id)
            .await
            .is_ok_and(|ex| ex.status.is_terminal())
    }
}

fn fatal_error(reason: &str) -> RuntimeError {
    RuntimeError::Op(crate::ops::OpError::fatal(format!(
        "a fatal slice error ended the worker: {reason}"
    )))
}

/// Gives a slice this worker will not run back to the EC, which re-queues it.
async fn refuse(conn: &mut EcConnection, slice: Option<Slice>) {
    if let Some(slice) = slice {
        let refused = Message::SliceRefused {
            slice_id: slice.slice_id,
        };
        let _ = conn.send(refused).await;
    }
}

/// The connection failed: a `shutdown` the EC sent just before closing may still be queued.
fn lost(conn: &mut EcConnection) -> Step {
    while let Some(env) = conn.take_stashed() {
        if env.message == Message::Shutdown {
            return Step::Exit(WorkerExit::ControllerShutdown);
        }
    }
    Step::Reconnect
}

/// Runs the slice while still reading the connection: a `shutdown` from the EC or a local
/// shutdown request lets the slice finish (drain). Returns (run, still connected, EC said
/// shutdown).
/// The EC asked for another log level; a process that cannot change it says so and goes on.
fn set_log_level(level: &str) {
    if let Err(e) = crate::log_level::set(level) {
        tracing::warn!(error = %e, "log level not changed");
    }
}

async fn run_watching(
    conn: &mut EcConnection,
    pipeline: &mut Pipeline,
    slice: &Slice,
    shutdown: &mut watch::Receiver<bool>,
) -> (SliceRun, bool, bool) {
    let run = pipeline.run_slice(slice);
    tokio::pin!(run);
    let mut connected = true;
    let mut ec_shutdown = false;
    let mut local_shutdown = false;
    loop {
        tokio::select! {
            r = &mut run => return (r, connected, ec_shutdown),
            env = conn.recv(), if connected => match env {
                None => connected = false,
                Some(env) => match env.message {
                    Message::Shutdown => ec_shutdown = true,
                    // Only a confused EC sends a slice to a busy worker; give it back.
                    Message::SliceNew(other) => refuse(conn, Some(other)).await,
                    Message::LogLevel { level } => set_log_level(&level),
                    _ => {}
                },
            },
            _ = shutdown.changed(), if !local_shutdown => local_shutdown = true,
        }
    }
}
