//! `/txt/*`: the same data as the JSON routes, as text tables (`fields`, `headers`, paging).
use axum::extract::{Query as QueryParams, State};
use axum::response::Response;
use serde_json::Value;
use teraslice_core::config::ClusterManagerType;

use super::body::text;
use super::table::{fields, render};
use super::{cluster, executions, jobs as job_routes, params, ApiError, AppState};
use crate::master::search::{Query, SearchOptions};

type ApiResult = Result<Response, ApiError>;

fn table(q: &Query, rows: &[Value], defaults: &[&str]) -> ApiResult {
    let headers = params::bool_param(q, "headers", true)?;
    Ok(text(render(rows, &fields(q, defaults), headers)))
}

/// `from`/`size` paging for lists that are not searches.
fn page(q: &Query, rows: Vec<Value>) -> Result<Vec<Value>, ApiError> {
    let opts = SearchOptions::from_query(q, "")?;
    Ok(opts.apply(rows))
}

fn with_deleted_on<'a>(q: &Query, defaults: &[&'a str]) -> Vec<&'a str> {
    let mut f = defaults.to_vec();
    if q.get("deleted").map(String::as_str).unwrap_or("false") != "false" {
        f.push("_deleted_on");
    }
    f
}

pub async fn jobs(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    let rows = job_routes::search(&s, &q).await?;
    let defaults = with_deleted_on(
        &q,
        &[
            "job_id",
            "name",
            "active",
            "lifecycle",
            "slicers",
            "workers",
            "_created",
            "_updated",
        ],
    );
    table(&q, &rows, &defaults)
}

pub async fn executions(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let rows = executions::search(&s, &q).await?;
    let defaults = with_deleted_on(
        &q,
        &[
            "name",
            "lifecycle",
            "slicers",
            "workers",
            "_status",
            "ex_id",
            "job_id",
            "_created",
            "_updated",
        ],
    );
    table(&q, &rows, &defaults)
}

pub async fn workers(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    let state = super::cluster::shown_state(&s).await?;
    let rows: Vec<Value> = state
        .values()
        .flat_map(|node| {
            let master = node
                .master
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok());
            let execution = node
                .active
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok());
            master.chain(execution).map(move |mut v| {
                if let Value::Object(m) = &mut v {
                    m.insert("node_id".into(), node.node_id.clone().into());
                    m.insert("hostname".into(), node.hostname.clone().into());
                }
                v
            })
        })
        .collect();
    let defaults: &[&str] = if s.backend.kind() == ClusterManagerType::KUBERNETES {
        &[
            "assignment",
            "job_id",
            "ex_id",
            "node_id",
            "pod_name",
            "image",
        ]
    } else {
        &["assignment", "job_id", "ex_id", "node_id", "pid"]
    };
    table(&q, &page(&q, rows)?, defaults)
}

pub async fn nodes(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    let state = super::cluster::shown_state(&s).await?;
    let rows: Vec<Value> = state
        .values()
        .filter_map(|node| {
            let mut v = serde_json::to_value(node).ok()?;
            if let Value::Object(m) = &mut v {
                m.insert(
                    "active".into(),
                    (node.master.len() + node.active.len()).into(),
                );
            }
            Some(v)
        })
        .collect();
    let defaults = [
        "node_id",
        "state",
        "hostname",
        "total",
        "active",
        "pid",
        "teraslice_version",
        "node_version",
    ];
    table(&q, &page(&q, rows)?, &defaults)
}

pub async fn controllers(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let rows = cluster::controller_list(&s).await?;
    let defaults = [
        "name",
        "job_id",
        "workers_available",
        "workers_active",
        "failed",
        "queued",
        "processed",
    ];
    table(&q, &page(&q, rows)?, &defaults)
}
