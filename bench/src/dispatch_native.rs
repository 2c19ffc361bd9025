//! The dispatch rate through the product as a user runs it: `teraslice run` of the noop job,
//! with the EC and the workers as processes of the native backend and the SQLite store.
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use teraslice_core::store::{SliceQuery, SliceState, StateStore};
use tokio::process::Command;

use crate::dispatch::{rates_from_store, Rates};

/// Runs `teraslice run` of `reader` → noop with `workers` workers in a fresh directory.
pub async fn process_rate(
    teraslice: &Path,
    slices: u64,
    workers: usize,
    reader: Value,
) -> anyhow::Result<Rates> {
    process_rate_with(teraslice, slices, workers, reader, false).await
}

/// [`process_rate`] with the job's `prom_metrics_enabled` set to `metrics`.
pub async fn process_rate_with(
    teraslice: &Path,
    slices: u64,
    workers: usize,
    reader: Value,
    metrics: bool,
) -> anyhow::Result<Rates> {
    // It runs in another directory: a relative path must not change meaning.
    let teraslice = std::fs::canonicalize(teraslice)
        .with_context(|| format!("the teraslice binary {}", teraslice.display()))?;
    let dir = tempfile::tempdir()?;
    let job_path = dir.path().join("noop.json");
    let job = json!({
        "name": "noop", "lifecycle": "once", "workers": workers, "analytics": false,
        "prom_metrics_enabled": metrics,
        "operations": [reader, {"_op": "noop"}]
    });
    std::fs::write(&job_path, job.to_string())?;
    let started = Instant::now();
    let out = Command::new(&teraslice)
        .current_dir(dir.path())
        .args(["run", "--quiet"])
        .arg(&job_path)
        .stderr(Stdio::null())
        .output()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "teraslice run of the noop job failed ({}): {summary}",
            out.status
        );
    }
    let ex_id = ex_id_of_summary(&summary)?;
    let store = teraslice_storage::SqliteStore::open(
        dir.path().join("teraslice-data").join("teraslice.sqlite"),
    )?;
    let query = SliceQuery {
        states: vec![SliceState::Completed],
        ..SliceQuery::all(ex_id)
    };
    let done = store.list_slice_states(&query).await?;
    rates_from_store(&done, slices, elapsed)
}

/// The execution id `teraslice run` prints in its summary ("  execution  <ex_id>").
pub fn ex_id_of_summary(summary: &str) -> anyhow::Result<&str> {
    summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("execution"))
        .map(str::trim)
        .context("teraslice run printed no execution id")
}
