//! The worker against a scripted EC: it reconnects after losing the connection mid-slice and
//! re-sends the slice's report on the new connection.
mod common;

use std::sync::Arc;

use chrono::Utc;
use common::ops::Gate;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::ExecutionRecord;
use teraslice_runtime::ops::Slice;
use teraslice_runtime::protocol::{Envelope, Message};
use teraslice_runtime::worker::WorkerExit;
use teraslice_runtime::{OpRegistry, Worker, WorkerOptions};
use teraslice_runtime::{RuntimeError, WorkerOutcome};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::WebSocketStream;

type Socket = WebSocketStream<TcpStream>;

async fn accept(listener: &TcpListener) -> Socket {
    let (tcp, _) = match listener.accept().await {
        Ok(c) => c,
        Err(e) => panic!("accept: {e}"),
    };
    match tokio_tungstenite::accept_async(tcp).await {
        Ok(ws) => ws,
        Err(e) => panic!("handshake: {e}"),
    }
}

async fn recv(ws: &mut Socket) -> Envelope {
    loop {
        match ws.next().await {
            Some(Ok(Ws::Text(t))) => match serde_json::from_str(t.as_str()) {
                Ok(env) => return env,
                Err(e) => panic!("bad frame {t}: {e}"),
            },
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

async fn send(ws: &mut Socket, id: u64, reply_to: Option<u64>, message: Message) {
    let text = serde_json::to_string(&Envelope {
        id,
        reply_to,
        message,
    })
    .unwrap_or_default();
    if let Err(e) = ws.send(Ws::text(text)).await {
        panic!("send: {e}");
    }
}

async fn greet(ws: &mut Socket) {
    let hello = recv(ws).await;
    assert!(matches!(hello.message, Message::Hello { .. }), "{hello:?}");
    send(ws, 1, Some(hello.id), Message::Welcome).await;
}

/// A scripted EC's listener, and a worker (test-reader → gate) connecting to it.
async fn start_worker() -> (
    TcpListener,
    Gate,
    tokio::task::JoinHandle<Result<WorkerOutcome, RuntimeError>>,
) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let store = Arc::new(MemoryStore::new());
    let ex = ExecutionRecord::new(
        "job-1",
        job(json!({"operations": [{"_op": "test-reader"}, {"_op": "gate"}]})),
    );
    assert!(store.create_execution(&ex).await.is_ok());
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let opts = WorkerOptions {
        registry: Arc::new(registry),
        timeouts: timeouts(),
    };
    let worker = tokio::spawn(Worker::new(ex, store, &addr, "w1", opts).run());
    (listener, gate, worker)
}

#[tokio::test]
async fn report_of_a_slice_finished_while_disconnected_is_sent_after_reconnecting() {
    let (listener, gate, worker) = start_worker().await;

    let mut first = accept(&listener).await;
    greet(&mut first).await;
    assert_eq!(recv(&mut first).await.message, Message::Available);
    let slice = Slice {
        slice_id: "s-1".into(),
        slicer_id: 0,
        slicer_order: 1,
        request: json!({}),
        created: Utc::now(),
    };
    send(&mut first, 2, None, Message::SliceNew(slice)).await;
    wait_until("the slice is running", || async {
        !gate.entries().is_empty()
    })
    .await;
    drop(first); // the EC side of the connection is gone mid-slice
    gate.open();

    let mut second = accept(&listener).await;
    greet(&mut second).await;
    let report = recv(&mut second).await;
    let Message::SliceComplete(r) = report.message else {
        panic!("expected the report first, got {report:?}")
    };
    assert_eq!((r.slice_id.as_str(), r.error), ("s-1", None));
    send(
        &mut second,
        2,
        Some(report.id),
        Message::SliceRecorded {
            slice_id: "s-1".into(),
            next: None,
        },
    )
    .await;
    assert_eq!(recv(&mut second).await.message, Message::Available);
    send(&mut second, 3, None, Message::Shutdown).await;

    let outcome = join_worker(worker).await;
    assert_eq!(outcome.exit, WorkerExit::ControllerShutdown);
    assert_eq!(outcome.slices_processed, 1);
}

fn slice(id: &str) -> Slice {
    Slice {
        slice_id: id.into(),
        slicer_id: 0,
        slicer_order: 1,
        request: json!({}),
        created: Utc::now(),
    }
}

/// One round trip per slice: the answer to a report carries the next slice, which the worker
/// runs without asking again; a slice sent to a busy worker comes back as refused.
#[tokio::test]
async fn the_next_slice_rides_on_the_recorded_answer_and_a_busy_worker_refuses_extra_slices() {
    let (listener, gate, worker) = start_worker().await;

    let mut ec = accept(&listener).await;
    greet(&mut ec).await;
    assert_eq!(recv(&mut ec).await.message, Message::Available);
    send(&mut ec, 2, None, Message::SliceNew(slice("s-1"))).await;
    wait_until("the slice is running", || async {
        !gate.entries().is_empty()
    })
    .await;
    // A second slice while the first runs is given back, not queued behind it.
    send(&mut ec, 3, None, Message::SliceNew(slice("extra"))).await;
    let refused = recv(&mut ec).await;
    assert_eq!(
        refused.message,
        Message::SliceRefused {
            slice_id: "extra".into()
        }
    );
    gate.open();
    let report = recv(&mut ec).await;
    let Message::SliceComplete(r) = report.message else {
        panic!("expected the report, got {report:?}")
    };
    assert_eq!(r.slice_id, "s-1");
    send(
        &mut ec,
        4,
        Some(report.id),
        Message::SliceRecorded {
            slice_id: "s-1".into(),
            next: Some(slice("s-2")),
        },
    )
    .await;
    // No `client:available` in between: the next frame is the report of the handed-over slice.
    let report = recv(&mut ec).await;
    let Message::SliceComplete(r) = report.message else {
        panic!("expected the report of s-2, got {report:?}")
    };
    assert_eq!(r.slice_id, "s-2");
    send(
        &mut ec,
        5,
        Some(report.id),
        Message::SliceRecorded {
            slice_id: "s-2".into(),
            next: None,
        },
    )
    .await;
    send(&mut ec, 6, None, Message::Shutdown).await;
    let outcome = join_worker(worker).await;
    assert_eq!(outcome.exit, WorkerExit::ControllerShutdown);
    assert_eq!(outcome.slices_processed, 2);
}
