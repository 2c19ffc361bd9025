//! `/`, `/cluster/state`, `/cluster/stats` and the controllers list.
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};
use teraslice_core::execution::TERASLICE_VERSION;
use teraslice_core::store::{ExecutionQuery, ListQuery};
use teraslice_core::ExecutionStatus;

use super::body::ok;
use super::executions::controller_entry;
use super::{ApiError, AppState};

type ApiResult = Result<Response, ApiError>;

/// Node's `process.arch` names, which Teraslice reports.
fn arch() -> &'static str {
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
    })))
}

pub async fn state(State(s): State<AppState>) -> ApiResult {
    Ok(ok(&s.backend.cluster_state().await?))
}

/// Teraslice's cluster analytics counters; ECs do not push them to this master yet, so zeros.
pub async fn stats(State(_s): State<AppState>) -> ApiResult {
    let counters = json!({
        "processed": 0, "failed": 0, "queued": 0, "job_duration": 0,
        "workers_joined": 0, "workers_disconnected": 0, "workers_reconnected": 0,
    });
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
