//! The documented failure behaviour: an unreachable server at start is retried up to
//! `startupTimeout`, then a clear error; a server lost mid-operation costs bounded retries, then
//! `Unavailable` naming the operation, and the store works again once the server is back;
//! mapping conflicts and deleted indices are errors naming the index.
mod opensearch_support;

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;
use teraslice_core::store::SliceState;
use teraslice_core::store::{StateStore, StoreError};
use teraslice_core::testing::store::fixtures::{at, job, slice};
use teraslice_storage::{ElasticsearchOpenError, ElasticsearchStore};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use opensearch_support::{cluster_name, config, connection, opensearch_url, raw, Cleanup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_at_start_is_retried_then_a_clear_error() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut cfg = config(&cluster_name());
    let node = format!("http://127.0.0.1:{port}");
    cfg.connection = connection(json!([node]), json!({"startupTimeout": "1500"}));
    let err = ElasticsearchStore::open(cfg)
        .await
        .expect_err("nothing listens there");
    let text = err.to_string();
    let ElasticsearchOpenError::Unreachable { attempts, .. } = err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert!(attempts >= 2, "retried before giving up: {text}");
    assert!(text.contains(&node), "names the node: {text}");
    assert!(
        text.contains("terafoundation.connectors.elasticsearch-next.default.startupTimeout"),
        "says which setting bounds the wait: {text}"
    );
    assert!(text.to_lowercase().contains("connect"), "says why: {text}");
}

/// A TCP relay to the test server that can be cut and restored on the same port.
struct Relay {
    port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind relay");
        let port = listener.local_addr().expect("addr").port();
        let upstream = opensearch_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                if let Ok(mut c) = conns.lock() {
                    c.push(conn);
                }
            }
        });
        if let Ok(mut t) = tasks.lock() {
            t.push(accept);
        }
        Relay { port, tasks }
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        if let Ok(tasks) = self.tasks.lock() {
            for t in tasks.iter() {
                t.abort();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_lost_mid_operation_gives_bounded_retries_then_unavailable_then_recovers() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let relay = Relay::start(0).await;
    let mut cfg = config(&name);
    let node = format!("http://127.0.0.1:{}", relay.port);
    cfg.connection = connection(json!([node]), json!({"maxRetries": 2}));
    let store = ElasticsearchStore::open(cfg)
        .await
        .expect("open through the relay");
    store
        .create_job(&job("job-1", at(0)))
        .await
        .expect("create");

    relay.cut();
    tokio::task::yield_now().await;
    let err = store.get_job("job-1").await.expect_err("server gone");
    let StoreError::Unavailable(text) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(
        text.contains(&format!("reading job job-1 from {name}__jobs")),
        "{text}"
    );
    assert!(
        text.contains("after 3 attempt(s)"),
        "1 try + maxRetries 2: {text}"
    );

    let _back = Relay::start(relay.port).await;
    let got = store
        .get_job("job-1")
        .await
        .expect("works again once the server is back");
    assert_eq!(got.job_id, "job-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_mapping_is_an_error_naming_index_and_field() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let index = format!("{name}__ex");
    let body = json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"_status": {"type": "text"}, "ex_id": {"type": "keyword"}}}});
    let (status, answer) = raw(Method::PUT, &index, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    let err = ElasticsearchStore::open(config(&name))
        .await
        .expect_err("_status as text conflicts");
    let text = err.to_string();
    assert!(
        matches!(&err, ElasticsearchOpenError::MappingConflict { index: i, .. } if *i == index),
        "{err:?}"
    );
    assert!(
        text.contains("field _status is mapped as text, Teraslice maps it as keyword"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_are_added_and_a_deleted_index_is_named() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    // An older Teraslice's jobs index: fewer mapped fields.
    let index = format!("{name}__jobs");
    let body = json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"dynamic": false, "properties": {"job_id": {"type": "keyword"}}}});
    raw(Method::PUT, &index, Some(body)).await;
    let store = ElasticsearchStore::open(config(&name)).await.expect("open");
    let (_, mapping) = raw(Method::GET, &format!("{index}/_mapping"), None).await;
    assert_eq!(
        mapping[&index]["mappings"]["properties"]["_created"]["type"],
        "date"
    );

    raw(Method::DELETE, &index, None).await;
    let err = store.get_job("job-x").await.expect_err("index deleted");
    let StoreError::Data(text) = &err else {
        panic!("expected Data, got {err:?}");
    };
    assert!(text.contains(&index) && text.contains("deleted"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_items_the_server_refuses_are_reported_by_slice_id() {
    let name = cluster_name();
    let cleanup = Cleanup::default();
    cleanup.add(&name);
    let store = ElasticsearchStore::open(config(&name)).await.expect("open");
    let mut records: Vec<_> = (0..50)
        .map(|n| slice("ex-bad", n, SliceState::Pending))
        .collect();
    // slicer_order is mapped integer (§5): a value past i32 is refused for that item alone.
    records[7].slicer_order = 1 << 40;
    records[31].slicer_order = 1 << 41;
    let err = store
        .write_slice_states(&records)
        .await
        .expect_err("two refused");
    let StoreError::Data(text) = &err else {
        panic!("a refused document is not worth retrying: {err:?}");
    };
    assert!(
        text.starts_with("2 slice state record(s) could not be written"),
        "{text}"
    );
    for bad in [7, 31] {
        assert!(
            text.contains(&format!(
                "slice {} in {name}__state-2024.05 (400",
                records[bad].slice_id
            )),
            "{text}"
        );
    }
    assert_eq!(
        store
            .count_slice_states("ex-bad", None)
            .await
            .expect("count"),
        48,
        "the other items were written"
    );
}
