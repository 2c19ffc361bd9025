//! The execution controller (EC): one per execution. It runs the slicers, queues slices,
//! hands them to idle workers over WebSockets, records slice state, and decides how the
//! execution ends. The master controls it over HTTP on the same port.
mod analytics;
mod connection;
mod engine;
mod finish;
mod handle;
mod http;
mod recovery;
mod slicers;
mod state_writer;
mod store_retry;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::serve::ListenerExt;
use teraslice_core::store::StateStore;
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

pub use analytics::{ExecutionAnalytics, MetricStats, OpStats};
pub use finish::ExecutionOutcome;
pub use handle::{AnalyticsReply, ControllerGone, ControllerHandle};
pub use slicers::MAX_QUEUE;

use crate::error::RuntimeError;
use crate::ops::{OpContext, OpRegistry, Slicer};
use crate::timeouts::RuntimeTimeouts;
use connection::Shared;
use engine::{DeferredStreams, Engine, Event};
use slicers::{Gate, StreamContext};
use state_writer::StateWriter;
use store_retry::StoreRetry;

/// How the EC runs.
#[derive(Clone)]
pub struct ControllerOptions {
    pub registry: Arc<OpRegistry>,
    pub timeouts: RuntimeTimeouts,
    /// Interface to listen on; the port is `ex.slicer_port` (0 or unset = any free port).
    pub bind_host: String,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            registry: Arc::new(OpRegistry::with_builtins()),
            timeouts: RuntimeTimeouts::default(),
            bind_host: "0.0.0.0".into(),
        }
    }
}

pub struct ExecutionController {
    ex: ExecutionRecord,
    store: Arc<dyn StateStore>,
    opts: ControllerOptions,
    listener: TcpListener,
    addr: SocketAddr,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    handle: ControllerHandle,
    relocatable_restart: bool,
}

impl ExecutionController {
    /// Kubernetes: an EC pod that restarts while its execution is running takes it over when
    /// every slicer `is_relocatable()` (Teraslice kubernetesV2); otherwise `run()` returns
    /// [`RuntimeError::NotRelocatable`] without touching the status. And a stop signal the
    /// master did not ask for (pod deleted, node drained) leaves the status alone: the Job's
    /// replacement pod takes over, or the master fails the execution from the pod's event. Off
    /// by default: then starting a running execution fails it, and a signal ends it
    /// `terminated` as on Teraslice's native clustering.
    pub fn relocatable_restart(mut self, allow: bool) -> Self {
        self.relocatable_restart = allow;
        self
    }

    /// Binds the EC port (`ex.slicer_port`, 0 = pick one): workers and the master can connect
    /// as soon as this returns; nothing runs until [`ExecutionController::run`].
    pub async fn new(
        ex: ExecutionRecord,
        store: Arc<dyn StateStore>,
        opts: ControllerOptions,
    ) -> Result<Self, RuntimeError> {
        let addr = format!("{}:{}", opts.bind_host, ex.slicer_port.unwrap_or(0));
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| RuntimeError::Bind {
                addr: addr.clone(),
                source,
            })?;
        Self::serving(ex, store, opts, listener, addr)
    }

    /// Like [`ExecutionController::new`], on a socket that is already bound and listening (the
    /// native backend binds the slicer port and hands it over); `opts.bind_host` is not used.
    pub fn with_listener(
        ex: ExecutionRecord,
        store: Arc<dyn StateStore>,
        opts: ControllerOptions,
        listener: std::net::TcpListener,
    ) -> Result<Self, RuntimeError> {
        let addr = listener
            .local_addr()
            .map_or_else(|_| "inherited socket".to_string(), |a| a.to_string());
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
            .map_err(|source| RuntimeError::Bind {
                addr: addr.clone(),
                source,
            })?;
        Self::serving(ex, store, opts, listener, addr)
    }

    fn serving(
        ex: ExecutionRecord,
        store: Arc<dyn StateStore>,
        opts: ControllerOptions,
        listener: TcpListener,
        addr: String,
    ) -> Result<Self, RuntimeError> {
        let addr = listener
            .local_addr()
            .map_err(|source| RuntimeError::Bind { addr, source })?;
        let (events_tx, events_rx) = mpsc::channel(1024);
        let handle = ControllerHandle {
            events: events_tx.clone(),
            ex_id: ex.ex_id.clone(),
            job_id: ex.job_id.clone(),
            name: ex.job.name.clone(),
        };
        tracing::info!(ex_id = %ex.ex_id, %addr, "execution controller listening");
        Ok(ExecutionController {
            ex,
            store,
            opts,
            listener,
            addr,
            events_tx,
            events_rx,
            handle,
            relocatable_restart: false,
        })
    }

    /// The bound address (with the port actually chosen).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Pause/resume/stop/analytics from the same process (the HTTP routes use it too).
    pub fn handle(&self) -> ControllerHandle {
        self.handle.clone()
    }

    /// Runs the execution to its end and returns how it ended (also written to the store).
    /// `Err` only when it could not start at all (bad status, store unreachable).
    pub async fn run(self) -> Result<ExecutionOutcome, RuntimeError> {
        let ExecutionController {
            ex,
            store,
            opts,
            listener,
            events_tx,
            mut events_rx,
            handle,
            relocatable_restart,
            ..
        } = self;
        let (finished_tx, finished_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            events: events_tx.clone(),
            ex_id: ex.ex_id.clone(),
            handle,
            ready: AtomicBool::new(false),
            finished: finished_rx,
            next_conn: AtomicU64::new(1),
            dispatch: std::sync::OnceLock::new(),
            heartbeat_timeout: opts.timeouts.heartbeat_timeout,
        });
        let app = http::router(shared.clone(), ex.control_secret.clone());
        // Slices and replies are small frames: without TCP_NODELAY each waits for Nagle.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "execution controller HTTP server failed");
            }
        });
        let result = run_execution(
            ex,
            store,
            opts,
            events_tx,
            &mut events_rx,
            &shared,
            relocatable_restart,
        )
        .await;
        finished_tx.send_replace(true);
        server.abort();
        result
    }
}

async fn run_execution(
    ex: ExecutionRecord,
    store: Arc<dyn StateStore>,
    opts: ControllerOptions,
    events_tx: mpsc::Sender<Event>,
    events_rx: &mut mpsc::Receiver<Event>,
    shared: &Shared,
    relocatable_restart: bool,
) -> Result<ExecutionOutcome, RuntimeError> {
    let mut ex_now = store.get_execution(&ex.ex_id).await?;
    let status = ex_now.status;
    if status == ExecutionStatus::Stopping {
        // Stopped before this controller got to run it: nothing to do, and `stopping` is the
        // master's to turn into `stopped` once this process is gone.
        tracing::info!(ex_id = %ex.ex_id, "the execution was stopped before its controller started");
        return Ok(ExecutionOutcome {
            ex_id: ex.ex_id,
            status,
            failure_reason: None,
            stats: ExecutionAnalytics::default(),
        });
    }
    let relocating = status.is_running() && relocatable_restart;
    if status.is_terminal() || (status.is_running() && !relocating) {
        if status.is_running() {
            let reason = format!("Execution {} was starting in running status", ex.ex_id);
            let _ = store
                .set_execution_status(
                    &ex.ex_id,
                    ExecutionStatus::Failed,
                    &teraslice_core::execution::StatusUpdate::failed(reason),
                )
                .await;
        }
        return Err(RuntimeError::BadStartStatus {
            ex_id: ex.ex_id,
            status,
        });
    }
    // The record given by the caller may carry fields the stored one lacks (e.g. the port).
    ex_now.slicer_port = ex.slicer_port.or(ex_now.slicer_port);
    let ex = ex_now;

    let slicers = build_slicers(&opts.registry, &ex);
    if relocating {
        let relocatable = slicers
            .as_ref()
            .is_ok_and(|s| s.iter().all(|s| s.is_relocatable()));
        if !relocatable {
            return Err(RuntimeError::NotRelocatable {
                ex_id: ex.ex_id,
                status,
            });
        }
        tracing::info!(ex_id = %ex.ex_id, %status, "taking over a running execution (relocatable slicer)");
    }

    let (fail_tx, mut fail_rx) = mpsc::unbounded_channel();
    let retry = Arc::new(StoreRetry::new(opts.timeouts.state_write_retry_timeout));
    let (writer, _writer_task) = StateWriter::spawn(
        store.clone(),
        retry.clone(),
        opts.timeouts.state_write_buffer_limit,
        fail_tx,
    );
    let (gate_tx, gate_rx) = watch::channel(Gate::Run);
    let mut engine = Engine::new(
        ex.clone(),
        store.clone(),
        writer.clone(),
        retry,
        opts.timeouts.clone(),
        gate_tx,
        status,
    );
    engine.signal_keeps_status = relocatable_restart;
    // Kubernetes again: the workers' Deployment replaces a worker pod that exits.
    engine.workers_replaced = relocatable_restart;
    // Sessions answer plain slice reports themselves from here on.
    let _ = shared.dispatch.set(engine.d.clone());
    if status != ExecutionStatus::Initializing && !relocating {
        engine.set_status(ExecutionStatus::Initializing, None).await;
    }
    match slicers {
        Err(reason) => engine.terminal_error(reason).await,
        Ok(slicers) => {
            engine.d.lock().stats.slicers = slicers.len() as u64;
            let ctx = StreamContext {
                ex_id: ex.ex_id.clone(),
                once: ex.job.lifecycle == teraslice_core::job::Lifecycle::Once,
                writer: writer.clone(),
                events: events_tx.clone(),
                gate: gate_rx,
                permits: Arc::new(Semaphore::new(slicers::MAX_QUEUE)),
                room: slicers::QueueRoom::new(
                    slicers::MAX_QUEUE,
                    engine.d.lock().connected.clone(),
                ),
                first_orders: Default::default(),
            };
            start(&mut engine, &store, &ex, slicers, ctx, relocating).await;
        }
    }
    shared.ready.store(true, Ordering::Release);
    engine.run(events_rx, &mut fail_rx).await;
    // Late reports are still recorded by the sessions, but nothing more is handed out.
    engine.d.lock().close();
    engine.stop_streams().await;
    let outcome = engine.finish().await;
    engine.shutdown_workers().await;
    if let Some(source) = engine.unwritten_status.take() {
        // The master learns the outcome from this process's exit instead.
        tracing::error!(ex_id = %outcome.ex_id, status = %outcome.status, reason = ?outcome.failure_reason, error = %source, "the final status could not be written");
        return Err(RuntimeError::StatusNotWritten {
            ex_id: outcome.ex_id,
            status: outcome.status,
            reason: outcome.failure_reason.unwrap_or_default(),
            source,
        });
    }
    tracing::info!(ex_id = %outcome.ex_id, status = %outcome.status, processed = outcome.stats.processed, failed = outcome.stats.failed, "execution finished");
    Ok(outcome)
}

fn build_slicers(
    registry: &OpRegistry,
    ex: &ExecutionRecord,
) -> Result<Vec<Box<dyn Slicer>>, String> {
    let reader = ex.job.reader().ok_or_else(|| {
        format!(
            "execution {} has no operations: the first operation must be a reader",
            ex.ex_id
        )
    })?;
    let factory = registry
        .reader(reader.op_name())
        .map_err(|e| format!("operations[0]._op: {e}"))?;
    let apis = registry
        .create_apis(&ex.ex_id, &ex.job)
        .map_err(|e| e.to_string())?;
    let ctx = OpContext {
        ex_id: ex.ex_id.clone(),
        job_id: ex.job_id.clone(),
        job: Arc::new(ex.job.clone()),
        config: reader.clone(),
        index: 0,
        worker_id: None,
        apis,
    };
    factory
        .slicers(&ctx)
        .map_err(|e| format!("slicer for ex {} could not be created: {e}", ex.ex_id))
}

/// Queues recovered slices (if any) and starts or defers the slicer streams.
async fn start(
    engine: &mut Engine,
    store: &Arc<dyn StateStore>,
    ex: &ExecutionRecord,
    slicers: Vec<Box<dyn Slicer>>,
    ctx: StreamContext,
    relocating: bool,
) {
    let Some(old_ex_id) = ex.recovered_execution.clone() else {
        engine.start_streams(DeferredStreams {
            slicers,
            starting_points: Vec::new(),
            ctx,
        });
        if !relocating {
            engine.set_status(ExecutionStatus::Running, None).await;
        }
        return;
    };
    if !slicers.iter().all(|s| s.is_recoverable()) {
        engine.deferred_streams = Some(DeferredStreams {
            slicers,
            starting_points: Vec::new(),
            ctx,
        });
        engine
            .terminal_error("Slicer is not recoverable".into())
            .await;
        return;
    }
    let plan = match recovery::plan(store, ex, &old_ex_id).await {
        Ok(plan) => plan,
        Err(reason) => {
            engine.deferred_streams = Some(DeferredStreams {
                slicers,
                starting_points: Vec::new(),
                ctx,
            });
            engine.terminal_error(reason).await;
            return;
        }
    };
    let mut ctx = ctx;
    ctx.first_orders = Arc::new(plan.last_orders.clone());
    let records = plan.slices.iter().map(|q| q.record.clone()).collect();
    if let Err(e) = engine.writer.write_and_wait(records).await {
        engine.deferred_streams = Some(DeferredStreams {
            slicers,
            starting_points: plan.starting_points,
            ctx,
        });
        engine
            .terminal_error(format!(
                "cannot move the recovered slices of {old_ex_id}: {e}"
            ))
            .await;
        return;
    }
    tracing::info!(ex_id = %ex.ex_id, from = %old_ex_id, slices = plan.slices.len(), "recovering");
    engine.recover(
        plan.slices
            .iter()
            .map(|q| q.slice.slice_id.clone())
            .collect::<HashSet<_>>(),
    );
    slicers::spawn_recovered(&mut engine.slicer_tasks, plan.slices, ctx.clone());
    engine.deferred_streams = Some(DeferredStreams {
        slicers,
        starting_points: plan.starting_points,
        ctx,
    });
    if plan.exit_after {
        engine.exit_after = true;
        // Never started: the slicers only get their shutdown() at the end.
        engine.slicers_done = true;
    }
    engine.set_status(ExecutionStatus::Recovering, None).await;
}
