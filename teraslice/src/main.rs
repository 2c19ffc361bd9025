//! The `teraslice` binary: `master`, `execution-controller`, `worker`, `run <job.json>`, and the
//! CLI client (`jobs …`, `ex …`, `cluster …`) that talks to a master over HTTP.
mod api;
mod client;
mod master;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "teraslice", version, about = "Teraslice in Rust: run JSON data-processing jobs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cluster master: HTTP API on `teraslice.port` (5678), scheduler, cluster backend.
    Master(master::MasterArgs),
    /// Client commands for jobs, talking to a master.
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TERASLICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Master(args) => master::run(args).await,
            Command::Client(cmd) => client::run(cmd).await,
        }
    })
}
