//! HTTP on the EC port: `/health`, the master's control routes and the worker WebSocket.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::connection::{serve_worker, Shared};
use super::handle::ControllerGone;
use crate::protocol::WORKER_WS_PATH;

/// `GET /health`, `POST /api/v1/{pause,resume,stop,settings}`, `GET /api/v1/analytics`, the worker
/// WebSocket at [`WORKER_WS_PATH`]; anything else is 501 as in Teraslice. With a
/// `control_secret` (the execution record's), the control routes and the worker WebSocket need
/// `Authorization: Bearer <secret>`, which the master and the workers send.
pub fn router(shared: Arc<Shared>, control_secret: Option<String>) -> Router {
    let secret = Arc::new(control_secret);
    // Workers present the secret too (they read it with the execution record): anyone else who
    // reaches the port could otherwise take slices or report them done.
    let workers = Router::new()
        .route(WORKER_WS_PATH, any(worker_socket))
        .route_layer(middleware::from_fn_with_state(
            secret.clone(),
            require_secret,
        ));
    let control = Router::new()
        .route("/api/v1/pause", post(pause))
        .route("/api/v1/resume", post(resume))
        .route("/api/v1/stop", post(stop))
        .route("/api/v1/analytics", get(analytics))
        .route("/api/v1/settings", post(settings))
        .route_layer(middleware::from_fn_with_state(secret, require_secret));
    Router::new()
        .route("/health", get(health))
        .merge(control)
        .merge(workers)
        .fallback(|| async { (StatusCode::NOT_IMPLEMENTED, "Not Implemented") })
        .with_state(shared)
}

/// 401 unless the request carries the execution's control secret (when it has one).
async fn require_secret(
    State(secret): State<Arc<Option<String>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(secret) = secret.as_deref() else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(secret.as_bytes())) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "the control routes and the worker socket of an execution controller need its execution's control secret (Authorization: Bearer), which only the master and the execution's workers send" })),
    )
        .into_response()
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
