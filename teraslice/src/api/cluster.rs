//! `/`, `/cluster/state`, `/cluster/stats` and the controllers list.
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};
use teraslice_core::backend::MasterProcess;
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::{TERASLICE_RS_VERSION, TERASLICE_VERSION};
use teraslice_core::store::{ExecutionQuery, ListQuery};
use teraslice_core::{ClusterState, ExecutionStatus};

use super::body::ok;
use super::executions::controller_entry;
use super::{ApiError, AppState};

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

/// Teraslice's cluster analytics counters since this master started: the live stats of running
/// controllers plus the final `_slicer_stats` of executions that ended since then.
pub async fn stats(State(s): State<AppState>) -> ApiResult {
    let query = ExecutionQuery {
        job_id: None,
        statuses: vec![],
        page: ListQuery {
            from: 0,
            size: usize::MAX,
        },
    };
    let mut totals = [0u64; COUNTERS.len()];
    let mut add = |stats: &serde_json::Map<String, Value>| {
        for (total, key) in totals.iter_mut().zip(COUNTERS) {
            *total += stats.get(key).and_then(Value::as_u64).unwrap_or(0);
        }
    };
    for ex in s.store.list_executions(&query).await? {
        if ex.updated < s.started {
            continue;
        }
        let live = if ex.status.is_running() {
            controller_entry(&s, &ex).await
        } else {
            None
        };
        match live {
            Some(Value::Object(stats)) => add(&stats),
            _ => add(&ex.slicer_stats),
        }
    }
    let counters: serde_json::Map<String, Value> = COUNTERS
        .iter()
        .zip(totals)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    Ok(ok(&json!({ "controllers": counters, "slicer": counters })))
}

/// Stats of every running execution's controller, newest first by (name, started).
pub async fn controller_list(s: &AppState) -> Result<Vec<Value>, ApiError> {
    let query = ExecutionQuery {
        job_id: None,
        statuses: ExecutionStatus::RUNNING.to_vec(),
        page: ListQuery {
            from: 0,
            size: usize::MAX,
        },
    };
    let mut out = Vec::new();
    for ex in s.store.list_executions(&query).await? {
        // An unreachable controller is left out rather than failing the whole list.
        if let Some(entry) = controller_entry(s, &ex).await {
            out.push(entry);
        }
    }
    let key = |v: &Value| (v["name"].to_string(), v["started"].to_string());
    out.sort_by_key(|v| std::cmp::Reverse(key(v)));
    Ok(out)
}

pub async fn controllers(State(s): State<AppState>) -> ApiResult {
    Ok(ok(&controller_list(&s).await?))
}
