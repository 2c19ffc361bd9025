//! One worker's WebSocket session on the EC side: the `worker:hello` handshake, then frames
//! turned into engine events; outgoing frames come from the engine through the [`Peer`]. A
//! plain slice report is answered here, with the worker's next slice (one task wake per slice).
//! The session pings the worker every quarter of `heartbeat_timeout` and drops a connection it
//! has heard nothing on (no frame, ping or pong) for that long, or that has not said hello by
//! then: a half-open connection (the peer gone without a FIN) ends like a closed one, and the
//! engine re-dispatches its slice.
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, Sleep};

use super::engine::{Event, SharedDispatch};
use super::handle::ControllerHandle;
use crate::protocol::{outbox, ping_interval, Envelope, Message, Peer};

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
    /// `teraslice.heartbeat_timeout`.
    pub heartbeat_timeout: Duration,
}

/// What the session does after a frame.
enum After {
    Continue,
    Close,
    /// Write this frame now (an answer made in the session).
    Send(String),
}

/// The session's view of the worker's liveness.
struct Heartbeat {
    timeout: Duration,
    opened: Instant,
    /// When the last frame (of any kind) came in.
    heard: Instant,
    ping: tokio::time::Interval,
    /// Fires at `heard + timeout` or a little later (moved on at each ping, not each frame).
    silence: std::pin::Pin<Box<Sleep>>,
}

impl Heartbeat {
    fn new(timeout: Duration, interval: Duration) -> Self {
        let now = Instant::now();
        let mut ping = tokio::time::interval_at(now + interval, interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Heartbeat {
            timeout,
            opened: now,
            heard: now,
            ping,
            silence: Box::pin(tokio::time::sleep_until(now + timeout)),
        }
    }

    fn silent_for_too_long(&self) -> bool {
        self.heard.elapsed() >= self.timeout
    }

    fn rearm(&mut self) {
        self.silence.as_mut().reset(self.heard + self.timeout);
    }

    /// Runs a write, giving up once the worker has been silent for the whole timeout (a write
    /// to a half-open connection can wait for room in the socket forever).
    async fn guard<T>(&mut self, write: impl Future<Output = Result<(), T>>) -> Result<(), ()> {
        let mut write = std::pin::pin!(write);
        loop {
            tokio::select! {
                r = &mut write => return r.map_err(|_| ()),
                () = self.silence.as_mut() => {
                    if self.silent_for_too_long() {
                        return Err(());
                    }
                    self.rearm();
                }
            }
        }
    }
}

pub async fn serve_worker(socket: WebSocket, shared: Arc<Shared>) {
    let (mut sink, mut stream) = socket.split();
    let (peer, mut outbox) = outbox();
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let mut worker_id: Option<String> = None;
    let mut finished = shared.finished.clone();
    let timeout = shared.heartbeat_timeout;
    let mut hb = Heartbeat::new(timeout, ping_interval(timeout));
    loop {
        tokio::select! {
            Some(frame) = outbox.frames.recv() => {
                // Everything already queued goes out with one flush (one write on the socket).
                let mut batch = vec![frame.text];
                while let Ok(frame) = outbox.frames.try_recv() {
                    batch.push(frame.text);
                }
                let write = async {
                    for text in batch {
                        sink.feed(WsMessage::Text(text.into())).await?;
                    }
                    sink.flush().await
                };
                if hb.guard(write).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => {
                hb.heard = Instant::now();
                match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        let Some(env) = peer.route_incoming(text.as_str()) else {
                            continue;
                        };
                        match on_message(env, &peer, conn, &mut worker_id, &shared).await {
                            After::Continue => {}
                            After::Close => break,
                            After::Send(text) => {
                                if hb.guard(sink.send(WsMessage::Text(text.into()))).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                    // Pings are answered by the socket itself; pongs only count as heard.
                    Some(Ok(_)) => {}
                }
            }
            _ = hb.ping.tick() => {
                if worker_id.is_none() && hb.opened.elapsed() >= timeout {
                    tracing::warn!(conn, ?timeout, "no worker:hello within heartbeat_timeout: closing the connection");
                    break;
                }
                hb.rearm();
                if hb.guard(sink.send(WsMessage::Ping(Default::default()))).await.is_err() {
                    break;
                }
            }
            () = hb.silence.as_mut() => {
                if hb.silent_for_too_long() {
                    tracing::warn!(worker_id = ?worker_id, conn, ?timeout, "nothing heard from the worker within heartbeat_timeout: dropping its connection");
                    break;
                }
                hb.rearm();
            }
            () = outbox.overwhelmed.notified() => {
                tracing::warn!(worker_id = ?worker_id, conn, "the worker reads none of its frames: dropping its connection");
                break;
            }
            _ = wait_finished(&mut finished) => {
                // Let the last frames (the `shutdown` broadcast) out before closing.
                let write = async {
                    while let Ok(frame) = outbox.frames.try_recv() {
                        sink.send(WsMessage::Text(frame.text.into())).await?;
                    }
                    sink.send(WsMessage::Close(None)).await
                };
                let _ = hb.guard(write).await;
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

/// The first frame must be `worker:hello` for this execution (or `worker:failed`, which ends
/// the session once handed to the engine); false ends the session.
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
        Message::Failed {
            worker_id: w,
            ex_id,
            error,
        } if ex_id == shared.ex_id => {
            tracing::warn!(worker_id = %w, %error, "a worker could not start its operations");
            let _ = shared
                .events
                .send(Event::WorkerFailed {
                    worker_id: w,
                    error,
                })
                .await;
            false
        }
        Message::Hello { ex_id, .. } | Message::Failed { ex_id, .. } => {
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
