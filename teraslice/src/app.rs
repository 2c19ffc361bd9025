//! [`Teraslice`]: the `teraslice` command — `master`, `execution-controller`, `worker`,
//! `run <job.json>` and the CLI client (`jobs …`, `ex …`, `cluster …`) — built with the cluster
//! backends and operations it is given.
use std::ffi::OsString;
use std::fmt;

use clap::{Parser, Subcommand};
use teraslice_core::backend_factory::{BackendFactory, BackendFuture};
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_runtime::OpRegistry;

use crate::{client, master, process, run};

/// The operations of the `teraslice` binary: Teraslice's core built-ins
/// ([`OpRegistry::with_builtins`]) and the `file`, `elasticsearch`, `kafka` and `standard` asset
/// crates, each registered with its `register` as any asset crate is (`standard` last: its
/// `routed_sender` sends through the others' sender ops). Start from this and register
/// your own ops to keep them.
pub fn default_ops() -> OpRegistry {
    let mut ops = OpRegistry::with_builtins();
    teraslice_asset_file::register(&mut ops);
    teraslice_asset_elasticsearch::register(&mut ops);
    teraslice_asset_kafka::register(&mut ops);
    teraslice_asset_standard::register(&mut ops);
    ops
}

/// What a build of `teraslice` adds to the built-in backends and holds as its operations.
#[derive(Clone)]
pub struct Extensions {
    /// Backends registered next to the built-in `native`, `kubernetes` and `mock`; one
    /// registered under a built-in name replaces it.
    pub backends: BackendFactory,
    /// Every operation and API jobs may use (validation on the master, slicers in the
    /// execution controller, fetchers and processors in the workers).
    pub ops: OpRegistry,
}

impl Default for Extensions {
    /// No extra backend; the built-in operations and assets ([`default_ops`]).
    fn default() -> Self {
        Extensions {
            backends: BackendFactory::new(),
            ops: default_ops(),
        }
    }
}

impl Extensions {
    /// The operations, configured with `config` ([`OpRegistry::configured`]): the
    /// elasticsearch ops connect through its `terafoundation.connectors`, the file ops keep to
    /// its `teraslice.file_roots`.
    pub fn op_registry(&self, config: &SystemConfig) -> OpRegistry {
        self.ops.clone().configured(config)
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("backends", &self.backends.registered())
            .field("readers", &self.ops.reader_names())
            .field("processors", &self.ops.processor_names())
            .finish()
    }
}

/// The `teraslice` command, as a library: ours plus a user's backends and operations.
///
/// ```no_run
/// use teraslice::Teraslice;
///
/// fn main() -> anyhow::Result<()> {
///     let mut ops = teraslice::default_ops();
///     // ops.register_processor("my_op", MyOp);
///     Teraslice::new()
///         .ops(ops)
///         // .backend(ClusterManagerType::from_static("nomad"), my_nomad_constructor)
///         .main()
/// }
/// ```
/// The execution controllers and workers a backend starts must run this same program (the
/// native backend starts the current executable): they need the same operations.
#[derive(Debug, Clone, Default)]
pub struct Teraslice {
    extensions: Extensions,
}

impl Teraslice {
    /// The built-in backends and operations only: what the `teraslice` binary is.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a cluster backend that `teraslice.cluster_manager_type: <kind>` selects; its
    /// settings are the config's `teraslice.<kind>` section
    /// ([`teraslice_core::config::TerasliceConfig::backend_section`]).
    pub fn backend<F>(mut self, kind: ClusterManagerType, constructor: F) -> Self
    where
        F: Fn(&SystemConfig) -> BackendFuture + Send + Sync + 'static,
    {
        self.extensions.backends.register(kind, constructor);
        self
    }

    /// Registers every backend of `factory` (see [`Teraslice::backend`]).
    pub fn backends(mut self, factory: &BackendFactory) -> Self {
        self.extensions.backends.extend(factory);
        self
    }

    /// The operations jobs may use, in place of the built-in set: start from [`default_ops`]
    /// to keep those. Each process builds its registry from these with the system config
    /// ([`OpRegistry::configured`]): the `elasticsearch` and `file` assets register their ops
    /// again with the config's connectors and file roots, and `standard` its `routed_sender`,
    /// so ops of yours under those names would be replaced: give them names of their own.
    pub fn ops(mut self, registry: OpRegistry) -> Self {
        self.extensions.ops = registry;
        self
    }

    /// What this build adds.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Runs the command the process arguments name, to its end.
    pub fn main(self) -> anyhow::Result<()> {
        self.main_from(std::env::args_os())
    }

    /// Runs the command `args` names (`args[0]` is the program name), to its end. Sets up the
    /// `tracing` subscriber (stderr, `TERASLICE_LOG`) and the Tokio runtime.
    pub fn main_from<I, T>(self, args: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cli = Cli::parse_from(args);
        // One rustls provider for the process (kube, the store's and ops' HTTPS clients): the
        // binary links both ring and aws-lc (object_store), so rustls cannot pick by itself.
        teraslice_backend_k8s::install_crypto_provider();
        // `run` and the client show their own output; their logs stay quiet unless asked for.
        let quiet = matches!(cli.command, Command::Run(_) | Command::Client(_));
        init_tracing(if quiet { "warn" } else { "info" });
        // A worker runs one slice at a time, and the client one request: one thread each (no
        // idle thread pool per worker process, no cross-thread wake-ups on the slice path). The
        // EC too, like Teraslice's: its work per slice is small, and the thread pool's wake-ups
        // between its threads cost more than they gave (`teraslice run` of 20,000 one-record
        // slices on 4 workers: 21.6k → 33.3k slices/s, half the context switches). Store calls
        // that block (SQLite) run on tokio's blocking threads either way.
        let runtime = match cli.command {
            Command::Worker(_) | Command::Client(_) | Command::ExecutionController(_) => {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            }
            _ => tokio::runtime::Runtime::new()?,
        };
        let ext = self.extensions;
        runtime.block_on(async move {
            match cli.command {
                Command::Master(args) => master::run(args, ext).await,
                Command::Run(args) => run::run(args, ext).await,
                Command::ExecutionController(args) => {
                    process::execution_controller(args, &ext).await
                }
                Command::Worker(args) => process::worker(args, &ext).await,
                Command::Client(cmd) => client::run(cmd).await,
            }
        })
    }
}

#[derive(Parser)]
#[command(
    name = "teraslice",
    version,
    about = "Teraslice in Rust: run JSON data-processing jobs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cluster master: HTTP API on `teraslice.port` (5678), scheduler, cluster backend.
    Master(master::MasterArgs),
    /// Run one job to its end on this machine (native backend + SQLite by default).
    Run(run::RunArgs),
    /// Run an execution controller (started by a cluster backend).
    ExecutionController(process::ProcessArgs),
    /// Run a worker (started by a cluster backend).
    Worker(process::ProcessArgs),
    /// Client commands for jobs, talking to a master.
    #[command(flatten)]
    Client(client::ClientCommand),
}

/// Logs go to stderr; `TERASLICE_LOG` (e.g. `debug`, `teraslice_runtime=trace`) overrides `default`.
/// The filter sits in a reload layer, so the level can change while the process runs
/// (`POST /jobs/:id/_settings?log_level=`, through `teraslice_runtime::log_level`).
fn init_tracing(default: &str) {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, reload, EnvFilter};
    let filter =
        EnvFilter::try_from_env("TERASLICE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .init();
    teraslice_runtime::log_level::install(Box::new(move |level| {
        handle
            .modify(|f| *f = EnvFilter::new(level))
            .map_err(|e| e.to_string())
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use teraslice_core::BackendError;

    fn unbuilt(_: &SystemConfig) -> BackendFuture {
        Box::pin(async { Err(BackendError::Other("not built in this test".into())) })
    }

    #[test]
    fn the_builder_keeps_the_backends_and_ops_it_is_given() {
        let slurm = ClusterManagerType::from_static("slurm");
        let mut more = BackendFactory::new();
        more.register(ClusterManagerType::from_static("nomad"), unbuilt);
        let mut ops = OpRegistry::empty();
        ops.register_processor("noop", teraslice_runtime::ops::builtin::Noop);
        let built = Teraslice::new()
            .backend(slurm.clone(), unbuilt)
            .backends(&more)
            .ops(ops);
        let ext = built.extensions();
        assert_eq!(
            ext.backends.registered(),
            [slurm, ClusterManagerType::from_static("nomad")]
        );
        assert_eq!(ext.ops.processor_names(), ["noop"]);
        // Each process runs the config hooks of the ops it was given, and adds no others.
        let config = SystemConfig::default();
        let configured = ext.op_registry(&config);
        assert!(configured.processor("noop").is_ok());
        assert!(configured.processor("elasticsearch_bulk").is_err());
    }

    #[test]
    fn each_process_configures_the_ops_with_the_system_config() {
        let mut ops = default_ops();
        ops.on_system_config(|ops, config| {
            if config.teraslice.security.file_roots.is_none() {
                ops.register_processor("configured", teraslice_runtime::ops::builtin::Noop);
            }
        });
        let ext = Teraslice::new().ops(ops).extensions().clone();
        assert!(ext.ops.processor("configured").is_err());
        let configured = ext.op_registry(&SystemConfig::default());
        assert!(configured.processor("configured").is_ok());
        for op in ["elasticsearch_bulk", "file_exporter", "routed_sender"] {
            assert!(configured.processor(op).is_ok(), "{op}");
        }
    }

    #[test]
    fn by_default_it_is_the_teraslice_binary() {
        let ext = Teraslice::new().extensions().clone();
        assert!(
            ext.backends.registered().is_empty(),
            "the master adds the built-in backends"
        );
        assert_eq!(ext.ops.reader_names(), default_ops().reader_names());
        let assets: Vec<&str> = ext.ops.assets().iter().map(|a| a.name).collect();
        assert_eq!(assets, ["file", "elasticsearch", "kafka", "standard"]);
    }
}
