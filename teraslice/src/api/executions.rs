//! `/ex…` routes, and the execution operations the `/jobs/:id/…` routes share (on the job's
//! latest execution).
use std::collections::HashSet;
use std::time::Duration;

use axum::extract::{Path, Query as QueryParams, State};
use axum::response::Response;
use serde_json::{json, Map, Value};
use teraslice_core::backend::StopOptions;
use teraslice_core::store::SliceState;
use teraslice_core::{ExecutionRecord, ExecutionStatus};

use super::body::ok;
use super::params::{self, WorkerRequest};
use super::{ApiError, AppState};
use crate::master::pages::{ExecutionPages, JobPages, SlicePages};
use crate::master::search::{self, Query, QueryError, SearchOptions};

type ApiResult = Result<Response, ApiError>;

/// `GET /ex`: `status` (comma list), `deleted`, `size`, `from`, `sort`, `filter`. Reads the
/// store a page at a time and keeps only the page asked for (see [`SearchOptions::collector`]).
pub async fn search(s: &AppState, q: &Query) -> Result<Vec<Value>, ApiError> {
    let opts = SearchOptions::from_query(q, "_updated:desc")?;
    let deleted = search::wants_deleted(q)?;
    let statuses = match q.get("status").map(|v| v.trim()) {
        None | Some("") => vec![],
        Some(list) => list
            .split(',')
            .map(|st| {
                st.trim()
                    .parse::<ExecutionStatus>()
                    .map_err(|e| QueryError::new("status", list, e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    // Deleting a job soft-deletes its executions (Teraslice marks each one; we derive it).
    let mut deleted_jobs: HashSet<String> = HashSet::new();
    let mut jobs = JobPages::new(&s.store);
    while let Some(page) = jobs.next().await? {
        deleted_jobs.extend(page.into_iter().filter(|j| j.deleted).map(|j| j.job_id));
    }
    let mut page = opts.collector();
    let mut exs = ExecutionPages::new(&s.store, statuses);
    while let Some(batch) = exs.next().await? {
        for ex in batch {
            if (ex.deleted || deleted_jobs.contains(&ex.job_id)) != deleted {
                continue;
            }
            page.push(execution_doc(ex));
        }
        if page.is_full() {
            break;
        }
    }
    Ok(page.finish())
}

pub async fn list(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    Ok(ok(&search(&s, &q).await?))
}

pub async fn get_one(State(s): State<AppState>, Path(ex_id): Path<String>) -> ApiResult {
    let ex = load(&s, &ex_id).await?;
    Ok(ok(&with_pending_reason(&s, ex)))
}

/// An execution as the API shows it: the stored record without its control secret.
pub fn execution_doc(ex: ExecutionRecord) -> Value {
    let mut doc = serde_json::to_value(ex).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut doc {
        m.shift_remove(teraslice_core::CONTROL_SECRET_KEY);
    }
    doc
}

/// The execution document; a `pending` one also says why it waits (`_pending_reason`, ours).
pub fn with_pending_reason(s: &AppState, ex: ExecutionRecord) -> Value {
    let pending = ex.status == ExecutionStatus::Pending;
    let mut doc = execution_doc(ex);
    if let (true, Some(reason), Value::Object(m)) =
        (pending, s.scheduler.pending_reason(), &mut doc)
    {
        m.insert("_pending_reason".into(), Value::String(reason));
    }
    doc
}

pub async fn load(s: &AppState, ex_id: &str) -> Result<ExecutionRecord, ApiError> {
    match s.store.get_execution(ex_id).await {
        Ok(ex) => Ok(ex),
        Err(e) if e.is_not_found() => {
            Err(ApiError::NotFound(format!("execution {ex_id} not found")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Stop: `force` kills at once; `blocking` (default true) waits for a terminal status.
pub async fn stop_execution(s: &AppState, ex_id: &str, q: &Query) -> ApiResult {
    let force = params::bool_param(q, "force", false)?;
    let blocking = params::bool_param(q, "blocking", true)?;
    let timeout_ms = params::timeout_ms(q)?;
    let opts = StopOptions {
        timeout_ms,
        force,
        exclude_node: None,
    };
    let mut ex = s.scheduler.stop(ex_id, opts).await?;
    if blocking || force {
        // Bounded: a stop that outlasts its grace period is reaped by the scheduler anyway.
        let grace =
            Duration::from_millis(timeout_ms.unwrap_or(s.config.teraslice.shutdown_timeout_ms));
        let deadline = tokio::time::Instant::now() + grace + Duration::from_secs(30);
        while !ex.status.is_terminal() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ex = load(s, ex_id).await?;
        }
    }
    if force {
        return Ok(ok(&json!({
            "message": format!("Force stop complete for exId {ex_id}"),
            "status": ex.status,
        })));
    }
    Ok(ok(&json!({ "status": ex.status })))
}

pub async fn pause_execution(s: &AppState, ex_id: &str) -> ApiResult {
    let ex = s.scheduler.pause(ex_id).await?;
    Ok(ok(&json!({ "status": ex.status })))
}

pub async fn resume_execution(s: &AppState, ex_id: &str) -> ApiResult {
    let ex = s.scheduler.resume(ex_id).await?;
    Ok(ok(&json!({ "status": ex.status })))
}

/// `_workers?add=|remove=|total=` → `{message: "<n> workers have been <action> for execution: <id>"}`.
pub async fn change_workers(s: &AppState, ex_id: &str, q: &Query) -> ApiResult {
    let request = params::worker_request(q)?;
    check_worker_limit(s, ex_id, &request).await?;
    let change = match request {
        WorkerRequest::Add(n) => s.scheduler.add_workers(ex_id, n).await?,
        WorkerRequest::Remove(n) => s.scheduler.remove_workers(ex_id, n).await?,
        WorkerRequest::Total(n) => s.scheduler.set_workers(ex_id, n).await?,
    };
    let message = format!(
        "{} workers have been {} for execution: {}",
        change.worker_num, change.action, change.ex_id
    );
    Ok(ok(&json!({ "message": message })))
}

/// `add`/`total` may not take an execution past `teraslice.max_workers_per_job`.
async fn check_worker_limit(
    s: &AppState,
    ex_id: &str,
    request: &WorkerRequest,
) -> Result<(), ApiError> {
    let (field, total) = match request {
        WorkerRequest::Remove(_) => return Ok(()),
        WorkerRequest::Total(n) => ("total", u64::from(*n)),
        WorkerRequest::Add(n) => {
            let state = s.backend.cluster_state().await?;
            let running = teraslice_core::backend::processes_of(&state, ex_id)
                .filter(|p| p.assignment == teraslice_core::backend::Assignment::Worker)
                .count();
            ("add", running as u64 + u64::from(*n))
        }
    };
    s.jobs
        .policy()
        .check_workers(field, total)
        .map_err(|e| ApiError::BadParam(e.to_string()))
}

/// `{ex_id, job_id, name, ...ExecutionAnalytics}` of a running execution's controller.
pub async fn controller_entry(s: &AppState, ex: &ExecutionRecord) -> Option<Value> {
    let stats = match s.scheduler.controller_stats(&ex.ex_id).await {
        Ok(stats) => stats,
        Err(e) => {
            tracing::debug!(ex_id = %ex.ex_id, error = %e, "no controller stats");
            return None;
        }
    };
    let mut entry = Map::new();
    entry.insert("ex_id".into(), json!(ex.ex_id));
    entry.insert("job_id".into(), json!(ex.job_id));
    entry.insert("name".into(), json!(ex.job.name));
    if let Value::Object(stats) = stats {
        entry.extend(stats);
    }
    Some(Value::Object(entry))
}

/// `[stats]` of one execution's controller, or 404 when it has none running.
pub async fn controller_of(s: &AppState, ex_id: &str) -> ApiResult {
    let ex = load(s, ex_id).await?;
    let missing = || ApiError::NotFound(format!("Could not find active slicer for ex_id: {ex_id}"));
    if !ex.status.is_running() {
        return Err(missing());
    }
    let entry = controller_entry(s, &ex).await.ok_or_else(missing)?;
    Ok(ok(&vec![entry]))
}

/// Slice state records in `error` of the executions `ex_ids` yields, in that order (`size`,
/// `from`, `sort`, `filter`). Without `sort` or `filter` the store skips to `from` (counting
/// each execution's errors) and reads only the page; with them every error record streams
/// through the page collector, a store page at a time.
pub async fn errors_of(s: &AppState, mut ex_ids: ExIds<'_>, q: &Query) -> ApiResult {
    let opts = SearchOptions::from_query(q, "")?;
    let errors = || vec![SliceState::Error];
    let docs = |slices: Vec<_>| {
        slices
            .into_iter()
            .filter_map(|r| serde_json::to_value(r).ok())
    };
    if opts.is_sorted() || opts.is_filtered() {
        let mut page = opts.collector();
        while let Some(ex_id) = ex_ids.next().await? {
            let mut slices = SlicePages::new(&s.store, &ex_id, errors(), 0, usize::MAX);
            while let Some(batch) = slices.next().await? {
                docs(batch).for_each(|d| page.push(d));
            }
        }
        return Ok(ok(&page.finish()));
    }
    let (mut skip, mut out) = (opts.from, Vec::new());
    while out.len() < opts.size {
        let Some(ex_id) = ex_ids.next().await? else {
            break;
        };
        let n = s
            .store
            .count_slice_states(&ex_id, Some(SliceState::Error))
            .await?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if skip >= n {
            skip -= n;
            continue;
        }
        let want = opts.size - out.len();
        let mut slices = SlicePages::new(&s.store, &ex_id, errors(), skip, want);
        skip = 0;
        while let Some(batch) = slices.next().await? {
            out.extend(docs(batch));
        }
    }
    Ok(ok(&out))
}

/// The executions whose errors `/ex/errors` lists: one, or every execution newest first, read
/// from the store a page at a time.
pub enum ExIds<'a> {
    One(Option<&'a str>),
    All {
        pages: ExecutionPages,
        buffered: std::vec::IntoIter<String>,
    },
}

impl ExIds<'_> {
    fn all(s: &AppState) -> ExIds<'static> {
        ExIds::All {
            pages: ExecutionPages::new(&s.store, vec![]),
            buffered: Vec::new().into_iter(),
        }
    }

    async fn next(&mut self) -> Result<Option<String>, ApiError> {
        match self {
            ExIds::One(id) => Ok(id.take().map(str::to_string)),
            ExIds::All { pages, buffered } => loop {
                if let Some(id) = buffered.next() {
                    return Ok(Some(id));
                }
                match pages.next().await? {
                    Some(page) => {
                        let ids: Vec<String> = page.into_iter().map(|e| e.ex_id).collect();
                        *buffered = ids.into_iter();
                    }
                    None => return Ok(None),
                }
            },
        }
    }
}

pub async fn stop(
    State(s): State<AppState>,
    Path(ex_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    stop_execution(&s, &ex_id, &q).await
}

pub async fn pause(State(s): State<AppState>, Path(ex_id): Path<String>) -> ApiResult {
    pause_execution(&s, &ex_id).await
}

pub async fn resume(State(s): State<AppState>, Path(ex_id): Path<String>) -> ApiResult {
    resume_execution(&s, &ex_id).await
}

pub async fn recover(
    State(s): State<AppState>,
    Path(ex_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    let cleanup = params::cleanup(&q)?;
    Ok(ok(&s.jobs.recover_execution(&ex_id, cleanup).await?))
}

pub async fn workers(
    State(s): State<AppState>,
    Path(ex_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    change_workers(&s, &ex_id, &q).await
}

pub async fn controller(State(s): State<AppState>, Path(ex_id): Path<String>) -> ApiResult {
    controller_of(&s, &ex_id).await
}

pub async fn errors(
    State(s): State<AppState>,
    Path(ex_id): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    load(&s, &ex_id).await?;
    errors_of(&s, ExIds::One(Some(&ex_id)), &q).await
}

/// `GET /ex/errors`: error slices of every execution.
pub async fn all_errors(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    errors_of(&s, ExIds::all(&s), &q).await
}
