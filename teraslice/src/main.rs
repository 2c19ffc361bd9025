//! The `teraslice` binary: `master`, `execution-controller`, `worker`, `run <job.json>`, and the
//! CLI client (`jobs …`, `ex …`, `cluster …`) that talks to a master over HTTP.
mod api;
mod client;
mod master;
mod process;
mod run;
mod ui;

use clap::{Parser, Subcommand};

/// mimalloc: the slice path allocates small objects at a high rate, and glibc's allocator
/// (returning freed memory to the kernel, then faulting it back in) halved dispatch throughput.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `run` and the client show their own output; their logs stay quiet unless asked for.
    let quiet = matches!(cli.command, Command::Run(_) | Command::Client(_));
    init_tracing(if quiet { "warn" } else { "info" });
    // A worker runs one slice at a time, and the client one request: one thread each (no idle
    // thread pool per worker process, no cross-thread wake-ups on the slice path). The EC too,
    // like Teraslice's: its work per slice is small, and the thread pool's wake-ups between
    // its threads cost more than they gave (`teraslice run` of 20,000 one-record slices on 4
    // workers: 21.6k → 33.3k slices/s, half the context switches). Store calls that block
    // (SQLite) run on tokio's blocking threads either way.
    let runtime = match cli.command {
        Command::Worker(_) | Command::Client(_) | Command::ExecutionController(_) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        }
        _ => tokio::runtime::Runtime::new()?,
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Master(args) => master::run(args).await,
            Command::Run(args) => run::run(args).await,
            Command::ExecutionController(args) => process::execution_controller(args).await,
            Command::Worker(args) => process::worker(args).await,
            Command::Client(cmd) => client::run(cmd).await,
        }
    })
}
