//! `/jobs…` routes. Execution operations act on the job's latest execution.
use axum::extract::{Path, Query as QueryParams, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::body::{ok, JsonBody};
use super::executions as ex;
use super::params;
use super::{ApiError, AppState};
use crate::master::jobs::{job_doc, pick};
use crate::master::pages::JobPages;
use crate::master::search::{self, Query, SearchOptions};

type ApiResult = Result<Response, ApiError>;

/// `POST /jobs?start=`: anything but `start=false` starts the job.
pub async fn submit(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<Query>,
    JsonBody(spec): JsonBody,
) -> ApiResult {
    let start = q.get("start").map(String::as_str) != Some("false");
    Ok(ok(&s.jobs.submit(spec, start).await?))
}

/// `GET /jobs` search: `active`, `deleted`, `size`, `from`, `sort`, `filter`. Reads the store a
/// page at a time and keeps only the page asked for.
pub async fn search(s: &AppState, q: &Query) -> Result<Vec<Value>, ApiError> {
    let opts = SearchOptions::from_query(q, "_updated:desc")?;
    let deleted = search::wants_deleted(q)?;
    let mut page = opts.collector();
    let mut jobs = JobPages::new(&s.store);
    while let Some(batch) = jobs.next().await? {
        batch
            .iter()
            .filter(|j| j.deleted == deleted)
            .map(job_doc)
            .filter(|d| search::active_matches(q, d))
            .for_each(|d| page.push(d));
        if page.is_full() {
            break;
        }
    }
    Ok(page.finish())
}

/// With `ex=f1,f2`: adds `ex`, the job's latest live execution restricted to those fields.
async fn with_ex(s: &AppState, q: &Query, mut doc: Value) -> Value {
    let Some(fields) = q.get("ex") else {
        return doc;
    };
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    let job_id = doc
        .get("job_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ex = match s.jobs.latest_execution(&job_id).await {
        Ok(e) if !e.deleted => pick(&ex::execution_doc(e), &fields),
        _ => json!({}),
    };
    if let Value::Object(m) = &mut doc {
        m.insert("ex".into(), ex);
    }
    doc
}

pub async fn list(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    let mut out = Vec::new();
    for doc in search(&s, &q).await? {
        out.push(with_ex(&s, &q, doc).await);
    }
    Ok(ok(&out))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let job = s.jobs.get(&job_id).await?;
    Ok(ok(&with_ex(&s, &q, job_doc(&job)).await))
}

pub async fn update(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    JsonBody(spec): JsonBody,
) -> ApiResult {
    Ok(ok(&job_doc(&s.jobs.update(&job_id, spec).await?)))
}

pub async fn remove(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    Ok(ok(&job_doc(&s.jobs.delete(&job_id).await?)))
}

pub async fn latest_ex(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    let ex = latest(&s, &job_id).await?;
    Ok(ok(&ex::with_pending_reason(&s, ex)))
}

/// The job's latest execution; 404 for an unknown job or one never run.
async fn latest(s: &AppState, job_id: &str) -> Result<teraslice_core::ExecutionRecord, ApiError> {
    s.jobs.get(job_id).await?;
    Ok(s.jobs.latest_execution(job_id).await?)
}

async fn latest_id(s: &AppState, job_id: &str) -> Result<String, ApiError> {
    Ok(latest(s, job_id).await?.ex_id)
}

pub async fn activate(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    Ok(ok(&job_doc(&s.jobs.set_active(&job_id, true).await?)))
}

pub async fn deactivate(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    Ok(ok(&job_doc(&s.jobs.set_active(&job_id, false).await?)))
}

pub async fn start(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    Ok(ok(&s.jobs.start(&job_id).await?))
}

pub async fn stop(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::stop_execution(&s, &ex_id, &q).await
}

pub async fn pause(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::pause_execution(&s, &ex_id).await
}

pub async fn resume(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::resume_execution(&s, &ex_id).await
}

pub async fn recover(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let cleanup = params::cleanup(&q)?;
    Ok(ok(&s.jobs.recover_job(&job_id, cleanup).await?))
}

pub async fn workers(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::change_workers(&s, &ex_id, &q).await
}

/// `_settings?log_level=<level>` → `{exId, level}`: the log level of the latest execution's
/// controller and workers, changed while they run.
pub async fn settings(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    let asked = q.get("log_level").map(String::as_str).unwrap_or_default();
    let level = teraslice_runtime::log_level::parse(asked)
        .map_err(|e| ApiError::BadParam(e.to_string()))?;
    s.scheduler.set_log_level(&ex_id, level).await?;
    Ok(ok(&json!({ "exId": ex_id, "level": level })))
}

pub async fn controller(State(s): State<AppState>, Path(job_id): Path<String>) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::controller_of(&s, &ex_id).await
}

/// Error slices of the job's latest execution (as Teraslice does).
pub async fn errors(
    State(s): State<AppState>,
    Path(job_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let ex_id = latest_id(&s, &job_id).await?;
    ex::errors_of(&s, ex::ExIds::One(Some(&ex_id)), &q).await
}
