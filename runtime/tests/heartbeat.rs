//! Half-open connections: a worker whose path to the EC turns into a blackhole (nothing
//! forwarded, nothing closed) is dropped by the EC's heartbeat and its slice re-dispatched; the
//! worker notices the silent EC, reconnects and resends its report, which is ignored as a
//! duplicate. A connection that never says hello is closed.
mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::ops::Gate;
use common::relay::Relay;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use teraslice_core::store::SliceState;
use teraslice_runtime::worker::WorkerExit;
use teraslice_runtime::{OpRegistry, RuntimeTimeouts};
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn short_heartbeat() -> RuntimeTimeouts {
    RuntimeTimeouts {
        heartbeat_timeout: Duration::from_millis(1000),
        ..timeouts()
    }
}

#[tokio::test]
async fn a_blackholed_worker_is_dropped_and_every_slice_completes_exactly_once() {
    let requests: Vec<_> = (0..6).map(|i| json!({ "n": i })).collect();
    let file = slicer_file(&requests);
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({
        "workers": 2,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "gate"}
        ]
    }));
    let h = Harness::start(job, registry, short_heartbeat()).await;
    let relay = Relay::start(h.addr).await;
    let (_, cut_off) = h.worker_via("cut-off", relay.addr);
    wait_until("a slice at the gate on the relayed worker", || async {
        !gate.entries().is_empty()
    })
    .await;
    let lost_slice = gate.entries()[0].1.clone();
    relay.blackhole();
    wait_until("the EC dropped the silent worker", || async {
        h.ec.analytics()
            .await
            .is_ok_and(|a| a.stats.workers_disconnected == 1)
    })
    .await;
    // The lost slice is back in the queue; a healthy worker takes it and the rest.
    let (_, healthy) = h.worker("healthy");
    wait_until("the lost slice at the gate again", || async {
        gate.entries()
            .iter()
            .filter(|(_, s)| *s == lost_slice)
            .count()
            == 2
    })
    .await;
    relay.heal();
    gate.open();

    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.completed().await;
    assert_eq!(outcome.stats.processed, 6, "{:?}", outcome.stats);
    let records = slices(&store, &ex_id).await;
    assert_eq!(records.len(), 6);
    assert!(
        records.iter().all(|r| r.state == SliceState::Completed),
        "{records:?}"
    );
    let ids: HashSet<_> = records.iter().map(|r| &r.slice_id).collect();
    assert_eq!(ids.len(), 6);
    let runs: Vec<_> = gate
        .entries()
        .into_iter()
        .filter(|(_, s)| *s == lost_slice)
        .collect();
    assert_eq!(
        runs[1].0, "healthy",
        "re-dispatched to the other worker: {runs:?}"
    );
    join_worker(healthy).await;
    // The cut-off worker found its EC silent and reconnected (or found the execution over).
    let exit = join_worker(cut_off).await.exit;
    assert!(
        matches!(
            exit,
            WorkerExit::ControllerShutdown | WorkerExit::ExecutionFinished
        ),
        "{exit:?}"
    );
}

#[tokio::test]
async fn a_worker_whose_ec_goes_silent_reconnects_through_a_healed_path() {
    let requests: Vec<_> = (0..3).map(|i| json!({ "n": i })).collect();
    let file = slicer_file(&requests);
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "gate"}
        ]
    }));
    let h = Harness::start(job, registry, short_heartbeat()).await;
    let relay = Relay::start(h.addr).await;
    let (_, only) = h.worker_via("only", relay.addr);
    wait_until("a slice at the gate", || async {
        !gate.entries().is_empty()
    })
    .await;
    relay.blackhole();
    wait_until("the EC dropped the silent worker", || async {
        h.ec.analytics()
            .await
            .is_ok_and(|a| a.stats.workers_disconnected == 1)
    })
    .await;
    relay.heal();
    gate.open();
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.completed().await;
    // It came back on a new connection and did all the work, each slice recorded once.
    let stats = &outcome.stats;
    assert_eq!(
        (stats.workers_joined, stats.workers_disconnected),
        (2, 1),
        "{stats:?}"
    );
    assert_eq!(outcome.stats.processed, 3);
    let records = slices(&store, &ex_id).await;
    assert!(
        records.iter().all(|r| r.state == SliceState::Completed),
        "{records:?}"
    );
    assert_eq!(join_worker(only).await.exit, WorkerExit::ControllerShutdown);
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed() {
    let h = Harness::start(
        job(json!({})),
        OpRegistry::with_builtins(),
        short_heartbeat(),
    )
    .await;
    let request = ws_request(&h, h.ex.control_secret.as_deref());
    let (mut ws, _) = match tokio_tungstenite::connect_async(request).await {
        Ok(ws) => ws,
        Err(e) => panic!("connect: {e}"),
    };
    // Reads (so pings are answered) but never sends `worker:hello`. The bound only keeps a
    // broken EC from hanging the test.
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the EC kept a connection without hello open"
    );
    let _ = ws.send(WsMessage::text("{}")).await;
    let _ = h.ec.stop().await;
}
