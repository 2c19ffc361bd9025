//! `teraslice run <job.json>`: master logic + the configured backend (native by default) + the
//! state store (SQLite in `./teraslice-data` by default) in one command; runs the job to its end
//! with a live progress bar, prints a summary, and exits non-zero if the execution did not complete.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use teraslice_core::backend::BackendEvent;
use teraslice_core::backend::StopOptions;
use teraslice_core::config::{StateConnectionType, SystemConfig};
use teraslice_core::store::{SliceState, StoreError};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use teraslice_storage::SqliteStore;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tracing::info;

use crate::master::{Master, MasterOptions, MasterServices};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The job file (Teraslice job JSON).
    pub job: PathBuf,
    /// Teraslice YAML config file (also `TERAFOUNDATION_CONFIG`); default: native backend, SQLite
    /// in `./teraslice-data`.
    #[arg(short = 'c', long = "config", env = "TERAFOUNDATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Serve the HTTP API on 127.0.0.1:<port> while the job runs (default: a free port), so
    /// `teraslice jobs …` can pause, scale or stop it.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub async fn run(args: RunArgs, extensions: crate::Extensions) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.job)
        .with_context(|| format!("cannot read job file {}", args.job.display()))?;
    let spec: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("job file {} is not valid JSON", args.job.display()))?;
    let config = match &args.config {
        Some(path) => SystemConfig::from_path(path)?,
        None => default_config(&spec),
    };
    let mut opts = MasterOptions::new(config);
    opts.extensions = extensions;
    opts.config_path = args.config.clone();
    opts.listen = Some(SocketAddr::from(([127, 0, 0, 1], args.port)));
    let fresh = if opts.config.teraslice.state.connection_type == StateConnectionType::Sqlite {
        // A store this command creates is its own scratch space: made without fsyncs.
        let path = SqliteStore::path_in_data_dir(&opts.config.teraslice.data_dir);
        tokio::task::spawn_blocking(move || SqliteStore::create_unsynced(path))
            .await
            .context("creating the SQLite state store")??
    } else {
        None
    };
    let master = Master::start(opts).await?;
    // Kept open to the end: closing the last connection checkpoints the WAL with fsyncs, the
    // slowest part of a short run's exit. The WAL is as safe as the file (SQLite replays it on
    // the next open); only a machine crash right after could lose its last writes.
    let store = std::sync::Arc::clone(&master.services().store);
    let result = run_job(&master, spec, &args).await;
    master.shutdown().await?;
    std::mem::forget(store);
    // Likewise the connection that created a fresh file (it also keeps the WAL from being
    // deleted and created again, with fsyncs, when the master's first connection opens).
    std::mem::forget(fresh);
    result
}

/// The built-in config, with enough native slots for the job's controller and workers: on a
/// small machine Teraslice's default (one slot per CPU) would leave most workers queued.
fn default_config(spec: &serde_json::Value) -> SystemConfig {
    let mut config = SystemConfig::default();
    let workers = spec
        .get("workers")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let wanted = u32::try_from(workers).unwrap_or(u32::MAX).saturating_add(1);
    config.teraslice.workers = config.teraslice.workers.max(wanted);
    config
}

async fn run_job(master: &Master, spec: serde_json::Value, args: &RunArgs) -> anyhow::Result<()> {
    let services = master.services().clone();
    let started = services
        .jobs
        .submit(spec, true)
        .await
        .with_context(|| format!("job {} was refused", args.job.display()))?;
    let ex_id = started
        .ex_id
        .context("the job was stored but no execution was created")?;
    info!(job_id = %started.job_id, %ex_id, api = %master.local_addr(), "job submitted");
    let bar = progress_bar(args.quiet);
    let begun = Instant::now();
    let mut interrupted = false;
    // One SIGINT stream for the whole wait: a Ctrl-C that arrives while the loop reads the store
    // is kept for the next `select!` (a fresh `ctrl_c()` each pass lost it, and then, with the
    // default action replaced, Ctrl-C did nothing at all).
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for Ctrl-C")?;
    // The EC rides out a store outage for write_retry_timeout, then retries its final status as
    // long again; a minute more lets the master record an EC that exited meanwhile.
    let outage_limit =
        2 * services.config.teraslice.state.write_retry_timeout() + Duration::from_secs(60);
    let mut unreachable_since: Option<Instant> = None;
    // The controller's exit is the usual sign the execution ended: it wakes the wait at once
    // instead of at the next tick.
    let mut events = Some(services.backend.subscribe());
    let mut tick = tokio::time::interval(PROGRESS_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ex = loop {
        let ex = match services.store.get_execution(&ex_id).await {
            Ok(ex) => {
                unreachable_since = None;
                ex
            }
            Err(e @ StoreError::Unavailable(_)) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > outage_limit {
                    bail!("execution {ex_id}: the state store has been unreachable for longer than 2 × teraslice.state.write_retry_timeout + 60 s ({} s): {e}", outage_limit.as_secs());
                }
                tracing::warn!(%ex_id, error = %e, "state store unreachable; waiting for it to return");
                bar.set_message(format!("state store unreachable: {e}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if ex.status.is_terminal() {
            break ex;
        }
        tokio::select! {
            _ = tick.tick() => {
                let live = LiveProgress::read(&services, &ex).await;
                bar.set_message(live.line(&ex, begun.elapsed()));
            }
            event = next_event(&mut events) => {
                // Any event (ours, or missed ones) is a reason to read the status again.
                if let Err(RecvError::Closed) = event {
                    // No more events: the tick alone ends the wait.
                    events = None;
                }
            }
            _ = sigint.recv() => {
                if interrupted {
                    bail!("interrupted again: not waiting for execution {ex_id} to stop");
                }
                interrupted = true;
                bar.println("interrupted: stopping the execution (Ctrl-C again to leave it)");
                services.scheduler.stop(&ex_id, StopOptions::default()).await?;
            }
        }
    };
    let progress = Progress::read(&services, &ex).await;
    bar.finish_and_clear();
    println!("{}", summary(&ex, &progress, begun.elapsed()));
    if ex.status != ExecutionStatus::Completed {
        bail!(
            "execution {} ended {}: {}",
            ex.ex_id,
            ex.status,
            ex.failure_reason
        );
    }
    Ok(())
}

/// The backend's next event; never, once there are no more.
async fn next_event(
    events: &mut Option<Receiver<BackendEvent>>,
) -> Result<BackendEvent, RecvError> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// How often the progress line is refreshed.
const PROGRESS_TICK: Duration = Duration::from_millis(250);

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The progress line during the run, from the execution controller's counters (slices
/// processed and failed): one small request a tick, however long the run.
struct LiveProgress {
    /// `Err` while the controller cannot be asked (starting, or unreachable), with why.
    counters: Result<(u64, u64), String>,
}

impl LiveProgress {
    async fn read(services: &MasterServices, ex: &ExecutionRecord) -> LiveProgress {
        let counters = if ex.status.is_running() {
            match services.scheduler.controller_stats(&ex.ex_id).await {
                Ok(stats) => {
                    let n = |k: &str| stats.get(k).and_then(serde_json::Value::as_u64);
                    let (processed, failed) =
                        (n("processed").unwrap_or(0), n("failed").unwrap_or(0));
                    Ok((processed.saturating_sub(failed), failed))
                }
                Err(e) => Err(e.to_string()),
            }
        } else {
            Err("the execution controller is starting".to_string())
        };
        LiveProgress { counters }
    }

    fn line(&self, ex: &ExecutionRecord, elapsed: Duration) -> String {
        let head = format!("{} {}", ex.job.name, ex.status);
        match &self.counters {
            Ok((done, failed)) => format!(
                "{head} | slices {done} done, {failed} failed ({:.0} slices/s)",
                *done as f64 / elapsed.as_secs_f64().max(0.001)
            ),
            Err(why) => format!("{head} | {why}"),
        }
    }
}

/// What the store says of an ended execution's slices and records; a count the store could not
/// give is its error, not 0.
struct Progress {
    slices_done: Result<u64, String>,
    slices_failed: Result<u64, String>,
    /// `None` when the job has `analytics: false` (no per-op counts are kept).
    records: Option<Result<i64, String>>,
}

impl Progress {
    async fn read(services: &MasterServices, ex: &ExecutionRecord) -> Progress {
        let store = &services.store;
        let count = |state| async move {
            store
                .count_slice_states(&ex.ex_id, Some(state))
                .await
                .map_err(|e| e.to_string())
        };
        // Records = what the reader (op 0) returned, from the per-op analytics (read once, at
        // the end).
        let records = if ex.job.analytics {
            Some(
                store
                    .list_analytics(&ex.ex_id)
                    .await
                    .map(|rows| {
                        rows.iter()
                            .filter(|a| a.order == 0)
                            .map(|a| a.count.max(0))
                            .sum()
                    })
                    .map_err(|e| e.to_string()),
            )
        } else {
            None
        };
        Progress {
            slices_done: count(SliceState::Completed).await,
            slices_failed: count(SliceState::Error).await,
            records,
        }
    }
}

/// A count, or why the store could not give it.
fn shown<T: std::fmt::Display>(n: &Result<T, String>) -> String {
    match n {
        Ok(n) => n.to_string(),
        Err(e) => format!("unknown (state store: {e})"),
    }
}

fn rate(records: i64, elapsed: Duration) -> f64 {
    records as f64 / elapsed.as_secs_f64().max(0.001)
}

fn summary(ex: &ExecutionRecord, p: &Progress, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let records = match &p.records {
        Some(Ok(n)) => format!("{n} ({:.0}/s)", rate(*n, elapsed)),
        Some(Err(e)) => format!("unknown (state store: {e})"),
        None => "not counted (the job has analytics: false)".to_string(),
    };
    let mut out = format!(
        "{name}: {status} in {secs:.1}s\n  execution  {ex_id}\n  records    {records}\n  slices     {done} completed, {failed} failed",
        name = ex.job.name,
        status = ex.status,
        ex_id = ex.ex_id,
        done = shown(&p.slices_done),
        failed = shown(&p.slices_failed),
    );
    if !ex.failure_reason.is_empty() {
        out.push_str(&format!("\n  reason     {}", ex.failure_reason));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn execution(analytics: bool) -> anyhow::Result<ExecutionRecord> {
        let ctx = SystemConfig::default().validation_context(None);
        let spec = json!({
            "name": "gen", "analytics": analytics,
            "operations": [{"_op": "data_generator"}, {"_op": "noop"}]
        });
        let job =
            teraslice_core::job::validate_job(&spec, &ctx).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(ExecutionRecord::new("job-1", job))
    }

    #[test]
    fn records_are_counted_only_when_the_job_keeps_analytics() -> anyhow::Result<()> {
        let counted = Progress {
            slices_done: Ok(4),
            slices_failed: Ok(0),
            records: Some(Ok(2000)),
        };
        let two_s = Duration::from_secs(2);
        let text = summary(&execution(true)?, &counted, two_s);
        assert!(text.contains("records    2000 (1000/s)"), "{text}");
        let uncounted = Progress {
            records: None,
            ..counted
        };
        let ex = execution(false)?;
        let text = summary(&ex, &uncounted, two_s);
        assert!(
            text.contains("records    not counted (the job has analytics: false)"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn store_errors_are_shown_not_zero() -> anyhow::Result<()> {
        let down = "state store unavailable: connection refused".to_string();
        let p = Progress {
            slices_done: Err(down.clone()),
            slices_failed: Ok(0),
            records: Some(Err(down)),
        };
        let text = summary(&execution(true)?, &p, Duration::from_secs(1));
        assert!(
            text.contains(
                "records    unknown (state store: state store unavailable: connection refused)"
            ),
            "{text}"
        );
        assert!(text.contains("slices     unknown (state store:"), "{text}");
        let live = LiveProgress {
            counters: Err("execution controller of ex did not answer analytics".into()),
        };
        let line = live.line(&execution(true)?, Duration::from_secs(1));
        assert!(line.contains("did not answer analytics"), "{line}");
        Ok(())
    }
}
