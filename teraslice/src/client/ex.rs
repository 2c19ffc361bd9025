//! `teraslice ex list|status|errors`.
use clap::Subcommand;

use super::output::print;
use super::{ApiClient, ClientOpts};

#[derive(Subcommand)]
pub enum ExCommand {
    /// Executions, newest first; --status filters (comma list).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    Status {
        ex_id: String,
    },
    Errors {
        ex_id: String,
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
}

pub async fn run(api: &ApiClient, opts: &ClientOpts, cmd: ExCommand) -> anyhow::Result<()> {
    match cmd {
        ExCommand::List { status, size } => {
            let filter = status.map(|s| format!("&status={s}")).unwrap_or_default();
            let exs = api.get(&format!("/ex?size={size}{filter}")).await?;
            print(
                opts.json,
                &exs,
                &["name", "ex_id", "job_id", "_status", "workers", "_created"],
            );
        }
        ExCommand::Status { ex_id } => {
            let ex = api.get(&format!("/ex/{ex_id}")).await?;
            print(
                opts.json,
                &ex,
                &[
                    "name",
                    "ex_id",
                    "job_id",
                    "_status",
                    "workers",
                    "_failureReason",
                    "_updated",
                ],
            );
        }
        ExCommand::Errors { ex_id, size } => {
            let errors = api.get(&format!("/ex/{ex_id}/errors?size={size}")).await?;
            print(
                opts.json,
                &errors,
                &["slice_id", "slicer_id", "state", "error", "_updated"],
            );
        }
    }
    Ok(())
}
