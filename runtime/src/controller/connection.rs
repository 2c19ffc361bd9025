//! One worker's WebSocket session on the EC side: the `worker:hello` handshake, then frames
//! turned into engine events; outgoing frames come from the engine through the [`Peer`]. A
//! plain slice report is answered here, with the worker's next slice (one task wake per slice).
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::engine::{Event, SharedDispatch};
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
    /// Set once the engine exists; until then every frame goes to the engine.
    pub dispatch: OnceLock<SharedDispatch>,
}

/// What the session does after a frame.
enum After {
    Continue,
    Close,
    /// Write this frame now (an answer made in the session).
    Send(String),
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
                    let Some(env) = peer.route_incoming(text.as_str()) else {
                        continue;
                    };
                    match on_message(env, &peer, conn, &mut worker_id, &shared).await {
                        After::Continue => {}
                        After::Close => break,
                        After::Send(text) => {
                            if sink.send(WsMessage::Text(text.into())).await.is_err() {
                                break;
                            }
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

fn keep_open(ok: bool) -> After {
    if ok {
        After::Continue
    } else {
        After::Close
    }
}

/// Handles one request from the worker.
async fn on_message(
    env: Envelope,
    peer: &Peer,
    conn: u64,
    worker_id: &mut Option<String>,
    shared: &Shared,
) -> After {
    let Some(id) = worker_id.as_deref() else {
        return keep_open(hello(env, peer, conn, worker_id, shared).await);
    };
    let id = id.to_string();
    match env.message {
        Message::Available => keep_open(
            shared
                .events
                .send(Event::Available {
                    worker_id: id,
                    conn,
                })
                .await
                .is_ok(),
        ),
        Message::SliceComplete(report) => {
            let answered = shared
                .dispatch
                .get()
                .and_then(|d| d.answer_report(&id, conn, &report));
            if let Some(next) = answered {
                let slice_id = report.slice_id;
                let answer = Message::SliceRecorded { slice_id, next };
                return match peer.reply_frame(env.id, answer) {
                    Ok(text) => After::Send(text),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot encode the answer to a slice report");
                        After::Close
                    }
                };
            }
            let report = Event::Report {
                worker_id: id,
                conn,
                report,
                request_id: env.id,
                peer: peer.clone(),
            };
            keep_open(shared.events.send(report).await.is_ok())
        }
        Message::SliceRefused { slice_id } => keep_open(
            shared
                .events
                .send(Event::Refused {
                    worker_id: id,
                    conn,
                    slice_id,
                })
                .await
                .is_ok(),
        ),
        Message::ClientShutdown => After::Close,
        other => {
            tracing::debug!(
                event = other.event(),
                "ignoring an unexpected message from a worker"
            );
            After::Continue
        }
    }
}

/// The first frame must be `worker:hello` for this execution; false ends the session.
async fn hello(
    env: Envelope,
    peer: &Peer,
    conn: u64,
    worker_id: &mut Option<String>,
    shared: &Shared,
) -> bool {
    match env.message {
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
    }
}
