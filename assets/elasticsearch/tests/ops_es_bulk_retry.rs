//! A `_bulk` whose answer is lost after OpenSearch applied it is sent again by the client: with
//! ids assigned before the first try, the retry cannot duplicate documents. A proxy in front of
//! the real OpenSearch forwards the first `_bulk`, waits for OpenSearch's answer, and answers
//! 502 instead (or cuts the connection).
mod ops_es_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ops_es_support::{process_through, url, valid, TestIndex};
use serde_json::{json, Value};
use teraslice_core::JobConfig;
use teraslice_runtime::ops::Record;

/// How the first `_bulk`'s answer is lost.
#[derive(Clone, Copy)]
enum Loss {
    BadGateway,
    Cut,
}

struct Proxy {
    http: reqwest::Client,
    loss: Loss,
    bulks: AtomicU32,
}

async fn forward(
    State(p): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = p
        .http
        .request(method, format!("{}{path}", url()))
        .body(body);
    if let Some(ct) = headers.get("content-type") {
        req = req.header("content-type", ct);
    }
    let answer = match req.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let body = answer.bytes().await.unwrap_or_default();
    if uri.path() == "/_bulk" && p.bulks.fetch_add(1, Ordering::SeqCst) == 0 {
        // OpenSearch has applied it; the client never learns.
        match p.loss {
            Loss::BadGateway => {
                return (StatusCode::BAD_GATEWAY, "answer lost").into_response();
            }
            Loss::Cut => panic!("cutting the connection without an answer"),
        }
    }
    let mut out = (status, body).into_response();
    if let Some(ct) = content_type {
        out.headers_mut().insert("content-type", ct);
    }
    out
}

/// A proxy to OpenSearch on a free port; returns its URL and the count of `_bulk`s it saw.
async fn start_proxy(loss: Loss) -> (String, Arc<Proxy>) {
    let proxy = Arc::new(Proxy {
        http: reqwest::Client::new(),
        loss,
        bulks: AtomicU32::new(0),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("proxy bind: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("proxy addr: {e}"),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), proxy)
}

fn bulk_job(index: &str, extra: Value) -> JobConfig {
    let mut op = json!({"_op": "elasticsearch_bulk", "index": index});
    if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    valid(json!({"name": "bulk", "operations": [{"_op": "data_generator"}, op]}))
}

async fn lose_first_answer(loss: Loss, extra: Value) {
    let idx = TestIndex::new("bulk-retry").await;
    let (node, proxy) = start_proxy(loss).await;
    let batch: Vec<Record> = (0..20).map(|n| Record::new(json!({ "n": n }))).collect();
    let written = process_through(&node, &bulk_job(&idx.name, extra), 1, batch).await;
    assert!(written.is_ok(), "{:?}", written.err());
    assert_eq!(
        proxy.bulks.load(Ordering::SeqCst),
        2,
        "the _bulk was sent again"
    );
    let docs = idx.docs().await;
    assert_eq!(docs.len(), 20, "documents duplicated by the retry");
    let mut ns: Vec<i64> = docs
        .iter()
        .filter_map(|(_, d)| d.get("n").and_then(Value::as_i64))
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_index_bulk_retried_after_a_lost_answer_writes_each_document_once() {
    lose_first_answer(Loss::BadGateway, json!({})).await;
}

#[tokio::test]
async fn a_create_bulk_retried_after_a_cut_connection_writes_each_document_once() {
    lose_first_answer(Loss::Cut, json!({"create": true})).await;
}
