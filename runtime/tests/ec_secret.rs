//! An execution controller answers its control routes and its worker WebSocket only to callers
//! that present the execution's control secret (the master and the execution's own workers).
mod common;

use common::*;
use serde_json::json;
use teraslice_runtime::OpRegistry;
use tokio_tungstenite::tungstenite::Error as WsError;

fn refused_status(result: Result<impl std::fmt::Debug, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        other => panic!("the upgrade should be refused with an HTTP status: {other:?}"),
    }
}

#[tokio::test]
async fn the_worker_socket_needs_the_execution_secret() {
    let h = Harness::start(job(json!({})), OpRegistry::with_builtins(), timeouts()).await;
    let Some(secret) = h.ex.control_secret.clone() else {
        panic!("a new execution record has a control secret");
    };
    let anonymous = tokio_tungstenite::connect_async(ws_request(&h, None)).await;
    assert_eq!(refused_status(anonymous.map(|_| ())), 401);
    let wrong = tokio_tungstenite::connect_async(ws_request(&h, Some("not-the-secret"))).await;
    assert_eq!(refused_status(wrong.map(|_| ())), 401);
    let right = tokio_tungstenite::connect_async(ws_request(&h, Some(&secret))).await;
    assert!(
        right.is_ok(),
        "the execution's secret opens the socket: {:?}",
        right.err()
    );
    let _ = h.ec.stop().await;
}

#[tokio::test]
async fn the_control_routes_need_the_execution_secret() {
    let h = Harness::start(job(json!({})), OpRegistry::with_builtins(), timeouts()).await;
    let (status, body) = http(h.addr, "GET", "/api/v1/analytics").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("control secret"),
        "the refusal says what is missing: {body}"
    );
    let (status, body) = h.http("GET", "/api/v1/analytics").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(h.addr, "GET", "/health").await;
    assert_ne!(status, 401, "health stays open for probes");
    let _ = h.ec.stop().await;
}
