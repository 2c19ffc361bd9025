//! Query parameters shared by several routes: booleans, stop options, worker changes.
use crate::master::jobs::CleanupType;
use crate::master::search::{Query, QueryError};

/// `true`/`false` (empty = `default`); anything else is refused rather than guessed.
pub fn bool_param(q: &Query, param: &'static str, default: bool) -> Result<bool, QueryError> {
    match q.get(param).map(String::as_str) {
        None | Some("") => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(QueryError::new(param, other, "must be true or false")),
    }
}

/// `timeout` in ms, if given.
pub fn timeout_ms(q: &Query) -> Result<Option<u64>, QueryError> {
    match q.get("timeout").map(String::as_str) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| QueryError::new("timeout", v, "must be a whole number of milliseconds")),
    }
}

/// `cleanup_type` (or `cleanup`) of a recovery.
pub fn cleanup(q: &Query) -> Result<Option<CleanupType>, QueryError> {
    let (param, value) = match (q.get("cleanup_type"), q.get("cleanup")) {
        (Some(v), _) => ("cleanup_type", v),
        (None, Some(v)) => ("cleanup", v),
        (None, None) => return Ok(None),
    };
    if value.is_empty() {
        return Ok(None);
    }
    CleanupType::parse(value).map(Some).ok_or_else(|| {
        QueryError::new(
            param,
            value,
            format!("must be one of {}", CleanupType::ALLOWED),
        )
    })
}

/// What `_workers` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerRequest {
    Add(u32),
    Remove(u32),
    Total(u32),
}

const WORKERS_ALLOWED: &str = "Must provide a valid worker parameter(add/remove/total) that is a number and greater than zero";

/// Exactly one of `add`, `remove`, `total`, a whole number.
pub fn worker_request(q: &Query) -> Result<WorkerRequest, QueryError> {
    let given: Vec<&'static str> = ["add", "remove", "total"]
        .into_iter()
        .filter(|k| q.contains_key(*k))
        .collect();
    let [param] = given.as_slice() else {
        let value = given.join(",");
        return Err(QueryError::new(
            "add/remove/total",
            &value,
            format!("{WORKERS_ALLOWED}; give exactly one of them"),
        ));
    };
    let raw = q.get(*param).map(String::as_str).unwrap_or_default();
    let n: u32 = raw
        .parse()
        .map_err(|_| QueryError::new(param, raw, WORKERS_ALLOWED))?;
    Ok(match *param {
        "add" => WorkerRequest::Add(n),
        "remove" => WorkerRequest::Remove(n),
        _ => WorkerRequest::Total(n),
    })
}
