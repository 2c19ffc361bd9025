//! The CLI client, modelled on teraslice-cli: `jobs …`, `ex …`, `cluster …` against a master's
//! HTTP API. Tables by default, `--json` for scripts; API errors are printed as the API gave them.
mod cluster;
mod ex;
mod http;
mod jobs;
mod output;
mod wait;

use clap::{Args, Subcommand};

pub use http::ApiClient;

/// Options every client command takes.
#[derive(Args, Clone)]
pub struct ClientOpts {
    /// The master's URL.
    #[arg(
        long,
        global = true,
        env = "TERASLICE_CLUSTER",
        default_value = "http://localhost:5678"
    )]
    pub cluster: String,
    /// API token, sent as `Authorization: Bearer <token>` (when the master sets
    /// `teraslice.api_tokens`).
    #[arg(long, global = true, env = "TERASLICE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Submit, control and inspect jobs.
    Jobs {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: jobs::JobsCommand,
    },
    /// Inspect executions.
    Ex {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: ex::ExCommand,
    },
    /// Inspect the cluster.
    Cluster {
        #[command(flatten)]
        opts: ClientOpts,
        #[command(subcommand)]
        cmd: cluster::ClusterCommand,
    },
}

pub async fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Jobs { opts, cmd } => {
            jobs::run(&ApiClient::for_opts(&opts)?, &opts, cmd).await
        }
        ClientCommand::Ex { opts, cmd } => ex::run(&ApiClient::for_opts(&opts)?, &opts, cmd).await,
        ClientCommand::Cluster { opts, cmd } => {
            cluster::run(&ApiClient::for_opts(&opts)?, &opts, cmd).await
        }
    }
}
