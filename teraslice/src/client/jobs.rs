//! `teraslice jobs submit|start|stop|pause|resume|recover|status|list|workers|errors|wait`.
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::print;
use super::{wait, ApiClient, ClientOpts};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Submit a job file; starts it unless --no-start.
    Submit {
        file: PathBuf,
        #[arg(long)]
        no_start: bool,
        /// Wait for the execution to end, with a progress bar.
        #[arg(long)]
        wait: bool,
    },
    /// Start a new execution of a stored job.
    Start {
        job_id: String,
    },
    /// Stop the job's current execution.
    Stop {
        job_id: String,
        /// Kill its processes at once.
        #[arg(long)]
        force: bool,
        /// Grace period in milliseconds.
        #[arg(long)]
        timeout: Option<u64>,
    },
    Pause {
        job_id: String,
    },
    Resume {
        job_id: String,
    },
    /// Start a new execution recovering from the latest one.
    Recover {
        job_id: String,
        /// all | errors | pending
        #[arg(long)]
        cleanup_type: Option<String>,
    },
    /// The job's latest execution and its status.
    Status {
        job_id: String,
    },
    List {
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    /// Change the number of workers: exactly one of --add, --remove, --total.
    Workers {
        job_id: String,
        #[arg(long, group = "change")]
        add: Option<u32>,
        #[arg(long, group = "change")]
        remove: Option<u32>,
        #[arg(long, group = "change")]
        total: Option<u32>,
    },
    /// Slice errors of the job's latest execution.
    Errors {
        job_id: String,
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    /// Wait until the job's latest execution ends; exits non-zero if it did not complete.
    Wait {
        job_id: String,
    },
}

pub async fn run(api: &ApiClient, opts: &ClientOpts, cmd: JobsCommand) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::Submit {
            file,
            no_start,
            wait: wait_for_it,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read job file {}", file.display()))?;
            let job: Value = serde_json::from_str(&text)
                .with_context(|| format!("job file {} is not valid JSON", file.display()))?;
            let path = if no_start {
                "/jobs?start=false"
            } else {
                "/jobs"
            };
            let created = api.post(path, Some(&job)).await?;
            print(opts.json, &created, &["job_id", "ex_id"]);
            if wait_for_it && !no_start {
                let job_id = created
                    .get("job_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return wait::until_done(api, job_id).await;
            }
        }
        JobsCommand::Start { job_id } => {
            print(
                opts.json,
                &api.post(&format!("/jobs/{job_id}/_start"), None).await?,
                &["job_id", "ex_id"],
            );
        }
        JobsCommand::Stop {
            job_id,
            force,
            timeout,
        } => {
            let mut path = format!("/jobs/{job_id}/_stop?blocking=true");
            if force {
                path.push_str("&force=true");
            }
            if let Some(t) = timeout {
                path.push_str(&format!("&timeout={t}"));
            }
            print(opts.json, &api.post(&path, None).await?, &["status"]);
        }
        JobsCommand::Pause { job_id } => print(
            opts.json,
            &api.post(&format!("/jobs/{job_id}/_pause"), None).await?,
            &["status"],
        ),
        JobsCommand::Resume { job_id } => print(
            opts.json,
            &api.post(&format!("/jobs/{job_id}/_resume"), None).await?,
            &["status"],
        ),
        JobsCommand::Recover {
            job_id,
            cleanup_type,
        } => {
            let query = cleanup_type
                .map(|c| format!("?cleanup_type={c}"))
                .unwrap_or_default();
            print(
                opts.json,
                &api.post(&format!("/jobs/{job_id}/_recover{query}"), None)
                    .await?,
                &["job_id", "ex_id"],
            );
        }
        JobsCommand::Status { job_id } => {
            let ex = api.get(&format!("/jobs/{job_id}/ex")).await?;
            print(
                opts.json,
                &ex,
                &[
                    "name",
                    "job_id",
                    "ex_id",
                    "_status",
                    "workers",
                    "_failureReason",
                    "_updated",
                ],
            );
        }
        JobsCommand::List { size } => {
            let jobs = api
                .get(&format!("/jobs?size={size}&ex=_status,ex_id"))
                .await?;
            let rows = flatten_ex(jobs);
            print(
                opts.json,
                &rows,
                &[
                    "job_id",
                    "name",
                    "lifecycle",
                    "workers",
                    "_status",
                    "_created",
                ],
            );
        }
        JobsCommand::Workers {
            job_id,
            add,
            remove,
            total,
        } => {
            let param = match (add, remove, total) {
                (Some(n), None, None) => format!("add={n}"),
                (None, Some(n), None) => format!("remove={n}"),
                (None, None, Some(n)) => format!("total={n}"),
                _ => anyhow::bail!("give exactly one of --add, --remove or --total"),
            };
            print(
                opts.json,
                &api.post(&format!("/jobs/{job_id}/_workers?{param}"), None)
                    .await?,
                &["message"],
            );
        }
        JobsCommand::Errors { job_id, size } => {
            let errors = api
                .get(&format!("/jobs/{job_id}/errors?size={size}"))
                .await?;
            print(
                opts.json,
                &errors,
                &["slice_id", "slicer_id", "state", "error", "_updated"],
            );
        }
        JobsCommand::Wait { job_id } => return wait::until_done(api, &job_id).await,
    }
    Ok(())
}

/// Lifts each job's `ex._status` to the top level for the table.
fn flatten_ex(jobs: Value) -> Value {
    match jobs {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|mut job| {
                    let status = job.pointer("/ex/_status").cloned().unwrap_or(json!(null));
                    if let Some(obj) = job.as_object_mut() {
                        obj.insert("_status".into(), status);
                    }
                    job
                })
                .collect(),
        ),
        other => other,
    }
}
