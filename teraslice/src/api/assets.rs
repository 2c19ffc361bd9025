//! `/assets` and `/txt/assets`: the assets of the build's operations (the `teraslice` binary:
//! `file`, `elasticsearch`, `standard`) in Teraslice's asset record shape plus their `ops` and
//! `apis`. Uploading or deleting assets is
//! refused with 400: uploaded (JavaScript) assets are not run by teraslice-rs.
use std::sync::OnceLock;

use axum::extract::{Path, Query as QueryParams, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::body::{ok, pretty_json, text};
use super::table::{fields, render};
use super::{params, ApiError, AppState};
use crate::master::search::{Query, SearchOptions};

type ApiResult = Result<Response, ApiError>;

/// The columns of Teraslice's `/txt/assets` table.
const TXT_FIELDS: &[&str] = &[
    "name",
    "version",
    "id",
    "_created",
    "description",
    "node_version",
    "platform",
    "arch",
];

/// When this master started: the built-in assets came with its binary.
fn created() -> &'static str {
    static CREATED: OnceLock<String> = OnceLock::new();
    CREATED.get_or_init(teraslice_core::time::now_iso)
}

/// The asset records, optionally only those of `name` (and `version`), paged and filtered.
fn records(
    s: &AppState,
    q: &Query,
    name: Option<&str>,
    version: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let all: Vec<Value> = s
        .assets
        .iter()
        .filter(|a| name.is_none_or(|n| n == a.name) && version.is_none_or(|v| v == a.version))
        .map(|a| {
            json!({
                "_created": created(),
                "name": a.name,
                "version": a.version,
                "description": a.description,
                "platform": std::env::consts::OS,
                "arch": super::cluster::arch(),
                "id": a.id(),
                "builtin": true,
                "ops": a.ops,
                "apis": a.apis,
            })
        })
        .collect();
    Ok(SearchOptions::from_query(q, "")?.apply(all))
}

pub async fn list(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    Ok(ok(&records(&s, &q, None, None)?))
}

pub async fn by_name(
    State(s): State<AppState>,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    Ok(ok(&records(&s, &q, Some(&name), None)?))
}

pub async fn by_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    Ok(ok(&records(&s, &q, Some(&name), Some(&version))?))
}

fn table(q: &Query, rows: &[Value]) -> ApiResult {
    let headers = params::bool_param(q, "headers", true)?;
    // Teraslice cuts descriptions to 30 characters in the table.
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(d) = r.get("description").and_then(Value::as_str) {
                r["description"] = Value::from(d.chars().take(30).collect::<String>());
            }
            r
        })
        .collect();
    Ok(text(render(&rows, &fields(q, TXT_FIELDS), headers)))
}

pub async fn txt_list(State(s): State<AppState>, QueryParams(q): QueryParams<Query>) -> ApiResult {
    table(&q, &records(&s, &q, None, None)?)
}

pub async fn txt_by_name(
    State(s): State<AppState>,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    table(&q, &records(&s, &q, Some(&name), None)?)
}

pub async fn txt_by_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    QueryParams(q): QueryParams<Query>,
) -> ApiResult {
    table(&q, &records(&s, &q, Some(&name), Some(&version))?)
}

fn refused(message: String) -> Response {
    let code = StatusCode::BAD_REQUEST.as_u16();
    pretty_json(
        StatusCode::BAD_REQUEST,
        &json!({"error": code, "message": message, "statusCode": code}),
    )
}

fn builtin_names(s: &AppState) -> String {
    let names: Vec<&str> = s.assets.iter().map(|a| a.name).collect();
    names.join(", ")
}

/// `POST /assets`: Teraslice stores an uploaded zip of JavaScript ops; there is no JavaScript
/// runtime here, so say what to do instead.
pub async fn upload(State(s): State<AppState>) -> Response {
    refused(format!(
        "uploaded assets are not supported: teraslice-rs does not run JavaScript assets. Its ops are built in, in the assets {} (GET /assets lists their ops); list those in the job's assets (any version, e.g. \"standard:2.1.2\") and use their ops instead",
        builtin_names(&s)
    ))
}

/// `DELETE /assets/:id`: the built-in assets come with the binary.
pub async fn remove(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    refused(format!(
        "asset {id} cannot be deleted: teraslice-rs has only its built-in assets ({}), which come with the binary",
        builtin_names(&s)
    ))
}
