//! `teraslice execution-controller` and `teraslice worker`: the processes a backend starts for an
//! execution. They load their execution from the state store by env `ex_id` (the backends pass
//! no record in the env: Linux caps one variable at 128 KiB, and a pod spec is readable by
//! anyone who may read Jobs); env `EX` (base64 of the execution JSON, or plain JSON), the way
//! Teraslice passes it, is still read when set. The config comes from `-c`/`TERAFOUNDATION_CONFIG`.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine;
use teraslice_backend_native::env::ENV_SLICER_LISTEN_FD;
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::{ExecutionRecord, StateStore};
use teraslice_runtime::metrics::{Assignment, Refresh};
use teraslice_runtime::{
    ControllerHandle, ControllerOptions, ExecutionController, RuntimeTimeouts, Worker,
    WorkerOptions,
};
use tracing::{info, warn};

use crate::master::{shutdown, wiring};
use crate::Extensions;

#[derive(clap::Args)]
pub struct ProcessArgs {
    /// Teraslice YAML config file (also `TERAFOUNDATION_CONFIG`).
    #[arg(short = 'c', long = "config", env = "TERAFOUNDATION_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The timeouts of `teraslice.*` the runtime uses.
pub fn runtime_timeouts(config: &SystemConfig) -> RuntimeTimeouts {
    let t = &config.teraslice;
    RuntimeTimeouts {
        action_timeout: t.action_timeout(),
        network_latency_buffer: t.network_latency_buffer(),
        slicer_timeout: t.slicer_timeout(),
        shutdown_timeout: t.shutdown_timeout(),
        worker_disconnect_timeout: t.worker_disconnect_timeout(),
        heartbeat_timeout: t.heartbeat_timeout(),
        state_write_retry_timeout: t.state.write_retry_timeout(),
        state_write_buffer_limit: t.state.write_buffer_limit as usize,
    }
}

fn load_config(args: &ProcessArgs) -> anyhow::Result<SystemConfig> {
    Ok(match &args.config {
        Some(path) => SystemConfig::from_path(path)?,
        None => SystemConfig::default(),
    })
}

/// The execution: env `EX` when set, else the store's record of env `ex_id`; env
/// `slicer_hostname`/`slicer_port` take precedence over the record's.
async fn load_execution(store: &dyn StateStore) -> anyhow::Result<ExecutionRecord> {
    let mut ex = match std::env::var("EX") {
        Ok(raw) => decode_execution(raw)?,
        Err(_) => {
            let ex_id = std::env::var("ex_id").context(
                "env ex_id (the execution to run) is not set: this command is started by a cluster backend",
            )?;
            store.get_execution(ex_id.trim()).await.with_context(|| {
                format!("cannot load execution {ex_id} (env ex_id) from the state store")
            })?
        }
    };
    if let Ok(host) = std::env::var("slicer_hostname") {
        ex.slicer_hostname = Some(host);
    }
    if let Ok(port) = std::env::var("slicer_port") {
        let port = port
            .parse()
            .with_context(|| format!("env slicer_port must be a port number, got \"{port}\""))?;
        ex.slicer_port = Some(port);
    }
    Ok(ex)
}

/// Env `EX`: base64 of the execution JSON, or the JSON itself.
fn decode_execution(raw: String) -> anyhow::Result<ExecutionRecord> {
    let json = if raw.trim_start().starts_with('{') {
        raw.into_bytes()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .context("env EX is neither JSON nor base64 of JSON")?
    };
    serde_json::from_slice(&json).context("env EX is not a valid execution record")
}

/// The slicer socket the native backend bound for this execution controller and passed down as
/// the descriptor named by env `slicer_listen_fd`; `None` when there is none (Kubernetes, or the
/// command run by hand), and the controller binds `slicer_port` itself.
fn inherited_listener() -> anyhow::Result<Option<std::net::TcpListener>> {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(raw) = std::env::var(ENV_SLICER_LISTEN_FD) else {
        return Ok(None);
    };
    let fd: i32 = raw.trim().parse().ok().filter(|fd| *fd > 2).with_context(|| {
        format!("env {ENV_SLICER_LISTEN_FD} must be a file descriptor number above 2, got \"{raw}\"")
    })?;
    let is_socket =
        std::fs::metadata(format!("/proc/self/fd/{fd}")).is_ok_and(|m| m.file_type().is_socket());
    if !is_socket {
        bail!("env {ENV_SLICER_LISTEN_FD} names descriptor {fd}, which is not an open socket of this process");
    }
    // SAFETY: the descriptor is open and a socket (checked above), passed to this process for
    // this use alone; nothing else in it takes ownership of that number.
    let inherited = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    // A close-on-exec duplicate, so anything this process starts does not hold the port; the
    // inherited descriptor is closed when `inherited` drops.
    let listener = inherited
        .try_clone()
        .with_context(|| format!("inherited slicer socket (descriptor {fd})"))?;
    let addr = listener.local_addr().with_context(|| {
        format!("inherited slicer socket (descriptor {fd}) is not a bound TCP socket")
    })?;
    info!(%addr, "serving on the slicer socket the backend bound");
    Ok(Some(listener))
}

/// Why a controller or worker was asked to stop.
enum StopCause {
    /// SIGTERM/SIGINT: the backend (on the master's behalf) or an operator.
    Signal,
    /// The parent process (the master or `teraslice run` that started this one) is gone: a
    /// native master killed with SIGKILL cannot stop its children, and orphans would go on
    /// processing slices that no master knows about.
    ParentGone,
}

async fn stop_requested(parent: u32) -> StopCause {
    tokio::select! {
        _ = shutdown::signal() => StopCause::Signal,
        _ = parent_exited(parent) => {
            warn!("the parent process exited; stopping");
            StopCause::ParentGone
        }
    }
}

/// Resolves when this process is re-parented, i.e. `parent` (read first thing at startup, so a
/// parent that dies while the config and store are opened is noticed too) died. Never for a
/// process whose parent is the container runtime or init (Kubernetes pods): it does not change.
async fn parent_exited(parent: u32) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

pub async fn execution_controller(args: ProcessArgs, ext: &Extensions) -> anyhow::Result<()> {
    let parent = std::os::unix::process::parent_id();
    let config = load_config(&args)?;
    let store = wiring::open_state_store(&config).await?;
    let ex = load_execution(store.as_ref()).await?;
    let opts = ControllerOptions {
        registry: Arc::new(ext.op_registry(&config)),
        timeouts: runtime_timeouts(&config),
        bind_host: "0.0.0.0".into(),
    };
    let ec = match inherited_listener()? {
        Some(listener) => {
            let mut ex = ex.clone();
            ex.slicer_port = Some(listener.local_addr()?.port());
            ExecutionController::with_listener(ex, store, opts, listener)?
        }
        None => ExecutionController::new(ex.clone(), store, opts).await?,
    };
    let on_kubernetes = config.teraslice.cluster_manager_type == ClusterManagerType::KUBERNETES;
    let ec = ec.relocatable_restart(on_kubernetes);
    let handle = ec.handle();
    let _metrics =
        crate::metrics::start(&config, Assignment::ExecutionController, Some(&ex), |_| {
            Some(controller_refresh(handle.clone()))
        })
        .await;
    tokio::spawn(async move {
        match stop_requested(parent).await {
            StopCause::Signal => {
                info!("stop signal received; draining in-flight slices");
                let _ = handle.stop().await;
            }
            // No final status: the next master decides (fails the execution, or re-queues one
            // that was still initializing and starts a new controller for it). A `terminated`
            // written by this dying controller once landed after that new controller started,
            // leaving a running execution marked terminal (found by the chaos run). Unwritten
            // slice states are re-run on recovery, as after a SIGKILL.
            StopCause::ParentGone => {
                warn!("the master that started this controller is gone: exiting, leaving the execution's status to the next master");
                std::process::exit(1);
            }
        }
    });
    let outcome = ec.run().await?;
    info!(ex_id = %outcome.ex_id, status = %outcome.status, reason = ?outcome.failure_reason, "execution controller done");
    Ok(())
}

pub async fn worker(args: ProcessArgs, ext: &Extensions) -> anyhow::Result<()> {
    let parent = std::os::unix::process::parent_id();
    let config = load_config(&args)?;
    let store = wiring::open_state_store(&config).await?;
    let ex = load_execution(store.as_ref()).await?;
    let (Some(host), Some(port)) = (ex.slicer_hostname.clone(), ex.slicer_port) else {
        bail!("the execution has no slicer_hostname/slicer_port: the worker does not know where its execution controller is");
    };
    // Teraslice's worker id: `<hostname>__<cluster worker id>`, where a pod's hostname is its
    // IP (`POD_IP`, as terafoundation's `_nodeName`): every pod of a node has the same process
    // id, so the node's name would give all its workers one id.
    let node = ["POD_IP", "node_id"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into());
    let worker_id = format!("{node}__{}", std::process::id());
    let opts = WorkerOptions {
        registry: Arc::new(ext.op_registry(&config)),
        timeouts: runtime_timeouts(&config),
    };
    let _metrics = crate::metrics::start(&config, Assignment::Worker, Some(&ex), |_| None).await;
    let worker = Worker::new(ex, store, &format!("{host}:{port}"), worker_id, opts);
    let handle = worker.handle();
    tokio::spawn(async move {
        match stop_requested(parent).await {
            StopCause::Signal => {
                info!("stop requested; finishing the current slice");
                handle.shutdown();
            }
            // The controller of a dead master exits at once too (see execution_controller): a
            // slice finished now could not be reported, and the worker would wait for a
            // controller that is gone until slicer_timeout. Recovery re-runs the slice.
            StopCause::ParentGone => {
                warn!("the master that started this worker is gone: exiting");
                std::process::exit(1);
            }
        }
    });
    let outcome = worker.run().await?;
    info!(worker_id = %outcome.worker_id, processed = outcome.slices_processed, failed = outcome.slices_failed, "worker done");
    Ok(())
}

const SCRAPE_ANALYTICS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sets the execution controller's gauges from its analytics at each scrape (Teraslice's
/// `collect`); after the execution ended they keep their last values.
fn controller_refresh(handle: ControllerHandle) -> Refresh {
    Arc::new(move || {
        let handle = handle.clone();
        Box::pin(async move {
            // A controller busy starting (or gone) leaves the last values rather than stalling
            // the scrape.
            let asked = tokio::time::timeout(SCRAPE_ANALYTICS_TIMEOUT, handle.analytics()).await;
            let (Ok(Ok(reply)), Some(m)) = (asked, teraslice_runtime::metrics::runtime()) else {
                return;
            };
            let s = reply.stats;
            let set = |g: &teraslice_runtime::metrics::Gauge, v: u64| {
                g.set(i64::try_from(v).unwrap_or(i64::MAX));
            };
            set(&m.slices_processed, s.processed);
            set(&m.slices_failed, s.failed);
            set(&m.slices_queued, s.queued);
            set(&m.workers_active, s.workers_active);
            set(&m.workers_available, s.workers_available);
            set(&m.workers_joined, s.workers_joined);
            set(&m.workers_reconnected, s.workers_reconnected);
            set(&m.workers_disconnected, s.workers_disconnected);
        })
    })
}
