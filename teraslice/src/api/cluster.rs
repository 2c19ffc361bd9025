//! `/`, `/cluster/state`, `/cluster/stats` and the controllers list.
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use teraslice_core::backend::MasterProcess;
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::{TERASLICE_RS_VERSION, TERASLICE_VERSION};
use teraslice_core::{ClusterState, ExecutionRecord, ExecutionStatus};

use super::body::ok;
use super::executions::controller_entry;
use super::{ApiError, AppState};
use crate::master::pages::ExecutionPages;

type ApiResult = Result<Response, ApiError>;

/// Node's `process.arch` names, which Teraslice reports (`x64`, `arm64`); the same word in every
/// answer that has an `arch`.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        other => other,
    }
}

pub async fn root(State(s): State<AppState>) -> ApiResult {
    Ok(ok(&json!({
        "arch": arch(),
        "clustering_type": s.config.teraslice.cluster_manager_type.as_str(),
        "name": s.config.teraslice.name,
        "node_version": "N/A",
        "platform": std::env::consts::OS,
        "teraslice_version": TERASLICE_VERSION,
        "teraslice_rs_version": TERASLICE_RS_VERSION,
    })))
}

/// The backend's cluster state as Teraslice shows it: on native, the master's own processes
/// (`cluster_master`, `assets_service`) are on its node too.
pub async fn shown_state(s: &AppState) -> Result<ClusterState, ApiError> {
    let mut state = s.backend.cluster_state().await?;
    if s.backend.kind() == ClusterManagerType::NATIVE {
        for node in state.values_mut() {
            node.master = MasterProcess::of_this_master();
        }
    }
    Ok(state)
}

pub async fn state(State(s): State<AppState>) -> ApiResult {
    Ok(ok(&shown_state(&s).await?))
}

const COUNTERS: [&str; 7] = [
    "processed",
    "failed",
    "queued",
    "job_duration",
    "workers_joined",
    "workers_disconnected",
    "workers_reconnected",
];

/// Controllers asked at the same time by `/cluster/stats` and `/controllers`.
const CONTROLLER_CALLS: usize = 16;
/// How long `/cluster/stats` and `/controllers` wait for one controller; a slower one is left
/// out (stats: its stored `_slicer_stats` count instead).
pub const CONTROLLER_STATS_TIMEOUT: Duration = Duration::from_secs(5);

/// `controller_entry` of each execution, asked concurrently, each bounded by
/// [`CONTROLLER_STATS_TIMEOUT`]; `None` for those that did not answer.
async fn live_entries(s: &AppState, exs: &[ExecutionRecord]) -> Vec<Option<Value>> {
    let asks: Vec<_> = exs
        .iter()
        .map(|ex| {
            let (s, ex) = (s.clone(), ex.clone());
            async move {
                if !ex.status.is_running() {
                    return None;
                }
                let asked =
                    tokio::time::timeout(CONTROLLER_STATS_TIMEOUT, controller_entry(&s, &ex));
                asked.await.unwrap_or_else(|_| {
                    tracing::debug!(ex_id = %ex.ex_id, "controller stats timed out");
                    None
                })
            }
        })
        .collect();
    stream::iter(asks)
        .buffered(CONTROLLER_CALLS)
        .collect()
        .await
}

/// Teraslice's cluster analytics counters since this master started: the live stats of running
/// controllers plus the final `_slicer_stats` of executions that ended since then.
pub async fn stats(State(s): State<AppState>) -> ApiResult {
    let counters = cluster_counters(&s).await?;
    Ok(ok(&json!({ "controllers": counters, "slicer": counters })))
}

/// The counters of `/cluster/stats` (`processed`, `failed`, `queued`, `job_duration`,
/// `workers_*`); the master's Prometheus gauges read them too.
pub async fn cluster_counters(s: &AppState) -> Result<serde_json::Map<String, Value>, ApiError> {
    let mut totals = [0u64; COUNTERS.len()];
    let mut add = |stats: &serde_json::Map<String, Value>| {
        for (total, key) in totals.iter_mut().zip(COUNTERS) {
            *total += stats.get(key).and_then(Value::as_u64).unwrap_or(0);
        }
    };
    let mut pages = ExecutionPages::new(&s.store, vec![]);
    while let Some(page) = pages.next().await? {
        let recent: Vec<ExecutionRecord> = page
            .into_iter()
            .filter(|ex| ex.updated >= s.started)
            .collect();
        for (ex, live) in recent.iter().zip(live_entries(s, &recent).await) {
            match live {
                Some(Value::Object(stats)) => add(&stats),
                _ => add(&ex.slicer_stats),
            }
        }
    }
    let counters: serde_json::Map<String, Value> = COUNTERS
        .iter()
        .zip(totals)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    Ok(counters)
}

/// Stats of every running execution's controller, newest first by (name, started).
pub async fn controller_list(s: &AppState) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut pages = ExecutionPages::new(&s.store, ExecutionStatus::RUNNING.to_vec());
    while let Some(page) = pages.next().await? {
        // An unreachable controller is left out rather than failing the whole list.
        out.extend(live_entries(s, &page).await.into_iter().flatten());
    }
    let key = |v: &Value| (v["name"].to_string(), v["started"].to_string());
    out.sort_by_key(|v| std::cmp::Reverse(key(v)));
    Ok(out)
}

pub async fn controllers(State(s): State<AppState>) -> ApiResult {
    Ok(ok(&controller_list(&s).await?))
}
