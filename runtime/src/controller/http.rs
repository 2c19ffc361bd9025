//! HTTP on the EC port: `/health`, the master's control routes and the worker WebSocket.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

use super::connection::{serve_worker, Shared};
use super::handle::ControllerGone;
use crate::protocol::WORKER_WS_PATH;

/// `GET /health`, `POST /api/v1/{pause,resume,stop,settings}`, `GET /api/v1/analytics`, the worker
/// WebSocket at [`WORKER_WS_PATH`]; anything else is 501 as in Teraslice.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/pause", post(pause))
        .route("/api/v1/resume", post(resume))
        .route("/api/v1/stop", post(stop))
        .route("/api/v1/analytics", get(analytics))
        .route("/api/v1/settings", post(settings))
        .route(WORKER_WS_PATH, any(worker_socket))
        .fallback(|| async { (StatusCode::NOT_IMPLEMENTED, "Not Implemented") })
        .with_state(shared)
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "Ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
    }
}

fn gone(e: ControllerGone) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({ "error": e.to_string() })),
    )
        .into_response()
}

async fn pause(State(s): State<Arc<Shared>>) -> Response {
    match s.handle.pause().await {
        Ok(()) => Json(json!({ "status": "paused" })).into_response(),
        Err(e) => gone(e),
    }
}

async fn resume(State(s): State<Arc<Shared>>) -> Response {
    match s.handle.resume().await {
        Ok(()) => Json(json!({ "status": "running" })).into_response(),
        Err(e) => gone(e),
    }
}

async fn stop(State(s): State<Arc<Shared>>) -> Response {
    match s.handle.stop().await {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "status": "stopping" }))).into_response(),
        Err(e) => gone(e),
    }
}

async fn analytics(State(s): State<Arc<Shared>>) -> Response {
    match s.handle.analytics().await {
        Ok(reply) => Json(reply).into_response(),
        Err(e) => gone(e),
    }
}

/// `POST /api/v1/settings?log_level=<level>` → `{level, workers}`; 400 for an unknown level.
async fn settings(
    State(s): State<Arc<Shared>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let asked = q.get("log_level").map(String::as_str).unwrap_or_default();
    let level = match crate::log_level::parse(asked) {
        Ok(level) => level,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    };
    match s.handle.set_log_level(level).await {
        Ok(workers) => Json(json!({ "level": level, "workers": workers })).into_response(),
        Err(e) => gone(e),
    }
}

async fn worker_socket(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.read_buffer_size(crate::protocol::READ_BUFFER_SIZE)
        .on_upgrade(move |socket| serve_worker(socket, s))
}
