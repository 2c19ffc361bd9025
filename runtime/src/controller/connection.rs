//! One worker's WebSocket session on the EC side: the `worker:hello` handshake, then frames
//! turned into engine events; outgoing frames come from the engine through the [`Peer`].
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::engine::Event;
use super::handle::ControllerHandle;
use crate::protocol::{Envelope, Message, Peer};

/// Frames queued for one worker before senders wait (back-pressure).
const OUTBOX: usize = 64;

/// State shared by the HTTP routes and worker sessions.
pub struct Shared {
    pub events: mpsc::Sender<Event>,
    pub ex_id: String,
    pub handle: ControllerHandle,
    /// `/health` answers 200 once set.
    pub ready: AtomicBool,
    /// Set when the execution has ended: sessions flush and close.
    pub finished: watch::Receiver<bool>,
    pub next_conn: AtomicU64,
}

pub async fn serve_worker(socket: WebSocket, shared: Arc<Shared>) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX);
    let peer = Peer::new(out_tx);
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let mut worker_id: Option<String> = None;
    let mut finished = shared.finished.clone();
    loop {
        tokio::select! {
            Some(text) = out_rx.recv() => {
                // Everything already queued goes out with one flush (one write on the socket).
                let mut sent = sink.feed(WsMessage::Text(text.into())).await;
                while sent.is_ok() {
                    match out_rx.try_recv() {
                        Ok(text) => sent = sink.feed(WsMessage::Text(text.into())).await,
                        Err(_) => break,
                    }
                }
                if sent.is_err() || sink.flush().await.is_err() {
                    break;
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Some(env) = peer.route_incoming(text.as_str()) {
                        if !on_message(env, &peer, conn, &mut worker_id, &shared).await {
                            break;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = wait_finished(&mut finished) => {
                // Let the last frames (the `shutdown` broadcast) out before closing.
                while let Ok(text) = out_rx.try_recv() {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                let _ = sink.send(WsMessage::Close(None)).await;
                break;
            }
        }
    }
    if let Some(worker_id) = worker_id {
        let _ = shared.events.send(Event::Left { worker_id, conn }).await;
    }
}

async fn wait_finished(finished: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here.
    let _ = finished.wait_for(|f| *f).await.map(|_| ());
}

/// Handles one request from the worker; false ends the session.
async fn on_message(
    env: Envelope,
    peer: &Peer,
    conn: u64,
    worker_id: &mut Option<String>,
    shared: &Shared,
) -> bool {
    let Some(id) = worker_id.clone() else {
        return match env.message {
            Message::Hello {
                worker_id: w,
                ex_id,
            } if ex_id == shared.ex_id => {
                *worker_id = Some(w.clone());
                let joined = Event::Joined {
                    worker_id: w,
                    conn,
                    peer: peer.clone(),
                };
                shared.events.send(joined).await.is_ok()
                    && peer.reply(env.id, Message::Welcome).await.is_ok()
            }
            Message::Hello { ex_id, .. } => {
                let message = format!(
                    "this execution controller runs execution {}, not {ex_id}",
                    shared.ex_id
                );
                let _ = peer.reply(env.id, Message::Error { message }).await;
                false
            }
            other => {
                let message = format!("send worker:hello before {}", other.event());
                let _ = peer.reply(env.id, Message::Error { message }).await;
                false
            }
        };
    };
    match env.message {
        Message::Available => shared
            .events
            .send(Event::Available {
                worker_id: id,
                conn,
            })
            .await
            .is_ok(),
        Message::SliceComplete(report) => {
            let report = Event::Report {
                worker_id: id,
                conn,
                report,
                request_id: env.id,
                peer: peer.clone(),
            };
            shared.events.send(report).await.is_ok()
        }
        Message::SliceRefused { slice_id } => shared
            .events
            .send(Event::Refused {
                worker_id: id,
                conn,
                slice_id,
            })
            .await
            .is_ok(),
        Message::ClientShutdown => false,
        other => {
            tracing::debug!(
                event = other.event(),
                "ignoring an unexpected message from a worker"
            );
            true
        }
    }
}
