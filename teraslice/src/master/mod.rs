//! `teraslice master`: loads the config, opens the state store, builds the cluster backend, runs
//! the scheduler and serves the HTTP API until SIGTERM/SIGINT. [`Master::start`] does the wiring
//! and returns a handle, so `teraslice run` and the tests reuse it in-process.
mod controller_http;
mod error;
mod job_docs;
pub mod jobs;
mod jobs_error;
pub mod pages;
pub mod policy;
pub mod search;
mod serve;
pub(crate) mod shutdown;
pub(crate) mod wiring;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use teraslice_core::config::SystemConfig;
use teraslice_core::scheduler::SchedulerConfig;
use teraslice_core::{ClusterBackend, Scheduler, StateStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

pub use error::MasterError;
pub use jobs::JobsService;

#[derive(clap::Args)]
pub struct MasterArgs {
    /// Teraslice YAML config file (also `TERAFOUNDATION_CONFIG`).
    #[arg(short = 'c', long = "config", env = "TERAFOUNDATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen on this port instead of `teraslice.port`; 0 picks a free one (printed at start).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: std::net::IpAddr,
}

/// What [`Master::start`] needs.
#[derive(Debug, Clone)]
pub struct MasterOptions {
    /// The backends added to the built-in ones and the operations jobs may use.
    pub extensions: crate::Extensions,
    /// The system config the master runs with.
    pub config: SystemConfig,
    /// The file `config` came from; native children get it as `TERAFOUNDATION_CONFIG`.
    pub config_path: Option<PathBuf>,
    /// Where to listen; default `0.0.0.0:<teraslice.port>`. Port 0 picks a free port.
    pub listen: Option<SocketAddr>,
    /// Native backend: the program run as `<program> execution-controller|worker`
    /// (default: this executable).
    pub native_program: Option<PathBuf>,
}

impl MasterOptions {
    /// Options for a master on `config`, with the built-in backends and operations.
    pub fn new(config: SystemConfig) -> Self {
        MasterOptions {
            extensions: crate::Extensions::default(),
            config,
            config_path: None,
            listen: None,
            native_program: None,
        }
    }
}

/// Everything the HTTP handlers use.
pub struct MasterServices {
    /// The master's system config.
    pub config: SystemConfig,
    /// The state store (jobs, executions, slices, analytics).
    pub store: Arc<dyn StateStore>,
    /// The cluster backend `cluster_manager_type` selected.
    pub backend: Arc<dyn ClusterBackend>,
    /// Runs executions on the backend.
    pub scheduler: Arc<Scheduler>,
    /// Submits, validates and controls jobs.
    pub jobs: JobsService,
    /// The assets of the build's operations (`GET /assets`).
    pub assets: Vec<teraslice_runtime::ops::Asset>,
    /// The API tokens (none = open API).
    pub auth: Arc<crate::api::auth::ApiAuth>,
    /// When this master started: `/cluster/stats` counts from here, as Teraslice's do.
    pub started: chrono::DateTime<chrono::Utc>,
}

/// A running master: its address, its services, and a way to stop it.
pub struct Master {
    addr: SocketAddr,
    services: Arc<MasterServices>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    /// `/metrics` on `prom_metrics_port` when `prom_metrics_enabled`.
    metrics: Option<crate::metrics::Exporter>,
}

impl Master {
    /// Opens the store, builds and initializes the backend, starts the scheduler (which
    /// reconciles what a previous master left), then binds and serves the API.
    pub async fn start(opts: MasterOptions) -> Result<Master, MasterError> {
        let config = opts.config.clone();
        let auth = Arc::new(crate::api::auth::ApiAuth::from_config(&config)?);
        let store = wiring::open_state_store(&config).await?;
        let built = wiring::build_backend(&opts, store.clone()).await?;
        built
            .backend
            .initialize()
            .await
            .map_err(MasterError::BackendInit)?;
        let scheduler = Scheduler::new(
            store.clone(),
            built.backend.clone(),
            built.controllers,
            scheduler_config(&config),
        );
        scheduler.start().await.map_err(MasterError::Scheduler)?;
        let ops = opts.extensions.op_registry(&config);
        let assets = ops.assets().to_vec();
        let jobs = JobsService::new(&config, ops, store.clone(), scheduler.clone());
        let services = Arc::new(MasterServices {
            started: chrono::Utc::now(),
            config: config.clone(),
            store,
            backend: built.backend,
            scheduler,
            jobs,
            assets,
            auth,
        });
        let listen = opts
            .listen
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], config.teraslice.port)));
        let listener = serve::bind(listen).map_err(|source| MasterError::Bind {
            addr: listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| MasterError::Bind {
            addr: listen,
            source,
        })?;
        let (stop, mut stopped) = watch::channel(false);
        let app = crate::api::router(services.clone());
        let server = tokio::spawn(serve::serve(listener, app, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        if services.auth.is_open() && !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the API is open to anyone who reaches {addr}: no teraslice.api_tokens or teraslice.api_tokens_file is set (see docs/security.md)");
        }
        info!(%addr, cluster_manager_type = %config.teraslice.cluster_manager_type, "teraslice master listening");
        let state = services.clone();
        let metrics = crate::metrics::start(
            &config,
            teraslice_runtime::metrics::Assignment::Master,
            None,
            |m| Some(crate::metrics::master::refresh(m, state)),
        )
        .await;
        Ok(Master {
            metrics,
            addr,
            services,
            stop,
            server,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the master serves `/metrics` (`None` when `prom_metrics_enabled` is false).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .map(crate::metrics::Exporter::local_addr)
    }

    /// The store, backend, scheduler and jobs service the API serves (for driving the master
    /// in-process, as `teraslice run` does).
    pub fn services(&self) -> &Arc<MasterServices> {
        &self.services
    }

    /// Stops accepting requests, then leaves running executions (kubernetes) or stops them
    /// (native, mock: their processes die with the master), and shuts the backend down.
    pub async fn shutdown(self) -> Result<(), MasterError> {
        let _ = self.stop.send(true);
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "HTTP server task failed");
        }
        shutdown::finish(&self.services).await;
        Ok(())
    }
}

fn scheduler_config(config: &SystemConfig) -> SchedulerConfig {
    SchedulerConfig {
        shutdown_timeout: config.teraslice.shutdown_timeout(),
        ..SchedulerConfig::default()
    }
}

/// `teraslice master`: runs until SIGTERM or SIGINT.
pub async fn run(args: MasterArgs, extensions: crate::Extensions) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => SystemConfig::from_path(path)?,
        None => SystemConfig::default(),
    };
    let port = args.port.unwrap_or(config.teraslice.port);
    let mut opts = MasterOptions::new(config);
    opts.extensions = extensions;
    opts.config_path = args.config.clone();
    opts.listen = Some(SocketAddr::new(args.bind, port));
    let master = Master::start(opts).await?;
    // Tests and scripts read the bound port from this line.
    println!(
        "teraslice master listening on http://{}",
        master.local_addr()
    );
    shutdown::signal().await;
    info!("shutdown signal received");
    master.shutdown().await?;
    Ok(())
}
