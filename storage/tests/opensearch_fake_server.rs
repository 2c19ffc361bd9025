//! Behaviour a real server cannot be made to show on demand, against a scripted fake: headers
//! chosen from the `GET /` answer (Elasticsearch 8 vs OpenSearch), a 503 retried, and bulk items
//! refused with 429 sent again alone until they pass, or reported by slice id.
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use teraslice_core::store::{SliceState, StateStore, StoreError};
use teraslice_core::testing::store::fixtures::{at, job, slice};
use teraslice_storage::elasticsearch::{ConnectionConfig, ElasticsearchConfig};
use teraslice_storage::ElasticsearchStore;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    content_type: String,
    authorization: String,
    body: String,
}

/// What the fake answers to `_bulk`, call by call; past the script every item succeeds.
#[derive(Clone, Copy)]
enum BulkAnswer {
    Status503,
    /// The item at this position (of those sent) gets 429.
    Item429(usize),
}

struct Fake {
    root: Value,
    bulk_script: Vec<BulkAnswer>,
    seen: Mutex<Vec<Seen>>,
    /// The document of the first `_create`.
    stored: Mutex<Option<Value>>,
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    let bulk_calls = {
        let mut seen = fake.seen.lock().expect("log");
        seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            content_type,
            authorization,
            body: body.clone(),
        });
        seen.iter().filter(|s| s.path == "/_bulk").count()
    };
    let ok = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    match path.as_str() {
        "/" => ok(fake.root.clone()),
        "/_bulk" => {
            let sent = body.lines().count() / 2;
            match fake.bulk_script.get(bulk_calls - 1) {
                Some(BulkAnswer::Status503) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": {"type": "unavailable", "reason": "busy"}})),
                )
                    .into_response(),
                Some(BulkAnswer::Item429(bad)) => {
                    let items: Vec<Value> = (0..sent)
                        .map(|i| {
                            if i == *bad {
                                json!({"index": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                            } else {
                                json!({"index": {"status": 201}})
                            }
                        })
                        .collect();
                    ok(json!({"errors": true, "items": items}))
                }
                None => ok(json!({"errors": false, "items": []})),
            }
        }
        p if p.contains("/_create/") => {
            let creates = fake
                .seen
                .lock()
                .expect("log")
                .iter()
                .filter(|s| s.path == p)
                .count();
            if creates == 1 {
                // The first create lands, but its answer is lost to a 503 (a proxy timing out).
                *fake.stored.lock().expect("doc") = serde_json::from_str(&body).ok();
                (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({}))).into_response()
            } else {
                (StatusCode::CONFLICT, axum::Json(json!({"error": {"type": "version_conflict_engine_exception", "reason": "exists"}}))).into_response()
            }
        }
        p if p.contains("/_doc/") => match fake.stored.lock().expect("doc").clone() {
            Some(doc) => {
                ok(json!({"found": true, "_source": doc, "_seq_no": 1, "_primary_term": 1}))
            }
            None => (StatusCode::NOT_FOUND, axum::Json(json!({"found": false}))).into_response(),
        },
        p if p.contains("/_cluster/health") => ok(json!({"timed_out": false})),
        p if p.ends_with("/_mapping") => ok(json!({})),
        _ => ok(json!({"acknowledged": true})),
    }
}

async fn start(root: Value, bulk_script: Vec<BulkAnswer>) -> (Arc<Fake>, ElasticsearchStore) {
    start_with(root, bulk_script, json!({})).await
}

async fn start_with(
    root: Value,
    bulk_script: Vec<BulkAnswer>,
    extra: Value,
) -> (Arc<Fake>, ElasticsearchStore) {
    let fake = Arc::new(Fake {
        root,
        bulk_script,
        seen: Mutex::new(Vec::new()),
        stored: Mutex::new(None),
    });
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut connector = json!({"node": format!("http://{addr}"), "maxRetries": 2});
    if let (Some(c), Some(e)) = (connector.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let connection = ConnectionConfig::from_connector(
        "terafoundation.connectors.elasticsearch-next.default",
        &connector,
    )
    .expect("connector");
    let config = ElasticsearchConfig {
        cluster_name: "fake".into(),
        connection,
        index_settings: Default::default(),
        rollover: Default::default(),
    };
    let store = ElasticsearchStore::open(config).await.expect("open");
    (fake, store)
}

fn seen(fake: &Fake) -> Vec<Seen> {
    fake.seen.lock().expect("log").clone()
}

const OPENSEARCH: fn() -> Value =
    || json!({"version": {"distribution": "opensearch", "number": "2.19.6"}});

#[tokio::test]
async fn headers_follow_the_server_that_answered() {
    let (fake, store) = start(
        json!({"version": {"number": "8.15.0", "build_flavor": "default"}}),
        vec![],
    )
    .await;
    store
        .write_slice_states(&[slice("ex", 1, SliceState::Pending)])
        .await
        .expect("bulk");
    let log = seen(&fake);
    let put_jobs = log
        .iter()
        .find(|s| s.method == Method::PUT && s.path == "/fake__jobs")
        .expect("jobs index created");
    assert_eq!(
        put_jobs.content_type,
        "application/vnd.elasticsearch+json; compatible-with=8"
    );
    let bulk = log.iter().find(|s| s.path == "/_bulk").expect("bulk");
    assert_eq!(
        bulk.content_type,
        "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    );

    let (fake, store) = start(OPENSEARCH(), vec![]).await;
    store
        .write_slice_states(&[slice("ex", 1, SliceState::Pending)])
        .await
        .expect("bulk");
    let log = seen(&fake);
    assert!(log
        .iter()
        .filter(|s| s.method == Method::PUT)
        .all(|s| s.content_type == "application/json"));
    let bulk = log.iter().find(|s| s.path == "/_bulk").expect("bulk");
    assert_eq!(bulk.content_type, "application/x-ndjson");
}

#[tokio::test]
async fn a_503_is_retried_and_refused_items_are_sent_again_alone() {
    let script = vec![BulkAnswer::Status503, BulkAnswer::Item429(1)];
    let (fake, store) = start(OPENSEARCH(), script).await;
    let records: Vec<_> = (0..3)
        .map(|n| slice("ex", n, SliceState::Pending))
        .collect();
    store
        .write_slice_states(&records)
        .await
        .expect("written in the end");
    let bulks: Vec<Seen> = seen(&fake)
        .into_iter()
        .filter(|s| s.path == "/_bulk")
        .collect();
    assert_eq!(
        bulks.len(),
        3,
        "503, then one item refused, then that item alone"
    );
    assert_eq!(
        bulks[1].body.lines().count(),
        6,
        "all three sent after the 503"
    );
    let last: Vec<&str> = bulks[2].body.lines().collect();
    assert_eq!(last.len(), 2, "only the refused item: {last:?}");
    let action: Value = serde_json::from_str(last[0]).expect("action line");
    assert_eq!(action["index"]["_id"], records[1].slice_id.as_str());
    assert_eq!(action["index"]["_index"], "fake__state-2024.05");
}

#[tokio::test]
async fn items_refused_every_time_are_reported_by_slice_id() {
    let script = vec![BulkAnswer::Item429(0); 10];
    let (_fake, store) = start(OPENSEARCH(), script).await;
    let records: Vec<_> = (0..2)
        .map(|n| slice("ex", n, SliceState::Pending))
        .collect();
    let err = store
        .write_slice_states(&records)
        .await
        .expect_err("never accepted");
    let StoreError::Unavailable(text) = &err else {
        panic!("a passing refusal is Unavailable: {err:?}");
    };
    assert!(
        text.contains(&format!(
            "1 slice state record(s) could not be written after 5 attempt(s): slice {} in fake__state-2024.05 (429: queue full)",
            records[0].slice_id
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_reported_as_a_duplicate() {
    let (_fake, store) = start(OPENSEARCH(), vec![]).await;
    let first = job("job-1", at(0));
    store
        .create_job(&first)
        .await
        .expect("the retry's 409 is our own earlier try");
    let other = job("job-1", at(5));
    assert_eq!(
        store.create_job(&other).await,
        Err(StoreError::AlreadyExists {
            kind: "job",
            id: "job-1".into()
        }),
        "a different job under the same id is still refused"
    );
}

#[tokio::test]
async fn a_ca_certificate_that_is_not_pem_is_refused_naming_the_key() {
    let connection = ConnectionConfig::from_connector(
        "terafoundation.connectors.elasticsearch-next.default",
        &json!({"node": "https://127.0.0.1:9", "caCertificate": "not a certificate"}),
    )
    .expect("connector parses");
    let config = ElasticsearchConfig {
        cluster_name: "fake".into(),
        connection,
        index_settings: Default::default(),
        rollover: Default::default(),
    };
    let err = ElasticsearchStore::open(config).await.expect_err("bad PEM");
    let text = err.to_string();
    assert!(
        text.contains("terafoundation.connectors.elasticsearch-next.default.caCertificate"),
        "{text}"
    );
}

#[tokio::test]
async fn credentials_go_on_every_request() {
    let (fake, _store) = start_with(
        OPENSEARCH(),
        vec![],
        json!({"auth": {"username": "admin", "password": "pw"}}),
    )
    .await;
    let log = seen(&fake);
    assert!(!log.is_empty());
    // base64("admin:pw")
    assert!(
        log.iter().all(|s| s.authorization == "Basic YWRtaW46cHc="),
        "{log:?}"
    );
    let (fake, _store) = start_with(OPENSEARCH(), vec![], json!({"apiKey": "aWQ6a2V5"})).await;
    let log = seen(&fake);
    assert!(
        log.iter().all(|s| s.authorization == "ApiKey aWQ6a2V5"),
        "{log:?}"
    );
}
