//! A scripted API server for unit tests: answers requests in order and records them.
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

/// `("METHOD path?query", body)` of each request.
pub type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A Status body as the API server sends with an error code.
pub fn status(code: u16, reason: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "message": format!("scripted {reason}"), "reason": reason, "code": code}),
    )
}

/// A client whose requests get `answers` in order (500 once they run out); `"METHOD path?query"`
/// of each request is recorded.
pub fn client(answers: Vec<(u16, Value)>) -> (Client, Seen) {
    let seen: Seen = Arc::default();
    let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
    let recorded = seen.clone();
    let service = tower::service_fn(move |req: Request<Body>| {
        let (seen, queue) = (recorded.clone(), queue.clone());
        async move {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
            let line = format!("{} {target}", req.method());
            let body = req.into_body().collect_bytes().await.unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((line, body));
            let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let (code, body) = next.unwrap_or_else(|| status(500, "NoMoreAnswers"));
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(bytes));
            Ok::<_, Infallible>(response.unwrap_or_else(|_| Response::new(Body::empty())))
        }
    });
    (Client::new(service, "default"), seen)
}

pub fn seen(s: &Seen) -> Vec<String> {
    let all = s.lock().unwrap_or_else(|p| p.into_inner()).clone();
    all.into_iter().map(|(line, _)| line).collect()
}

/// Bodies of the requests whose line starts with `prefix`, parsed as JSON.
pub fn bodies(s: &Seen, prefix: &str) -> Vec<Value> {
    let all = s.lock().unwrap_or_else(|p| p.into_inner()).clone();
    all.into_iter()
        .filter(|(line, _)| line.starts_with(prefix))
        .map(|(_, body)| serde_json::from_str(&body).unwrap_or(Value::Null))
        .collect()
}
