//! `Peer`: the EC's side of one worker connection. The socket's reader hands every text frame to
//! [`Peer::route_incoming`]; outgoing frames go through one bounded, ordered queue per worker
//! ([`outbox`]) to the socket's writer. The EC only answers and notifies: it never waits for a
//! reply from a worker (the worker's side is `worker::connection::EcConnection`).
//!
//! Back-pressure: a sender that may wait ([`Peer::send`], [`Peer::reply`]) takes one of
//! [`OUTBOX`] places first and waits while they are all taken. The engine never waits on one
//! worker, so its frames ([`Peer::send_now`], [`Peer::reply_now`]) need no place but use the
//! [`RESERVE`] above them; the protocol keeps at most a few of them outstanding per worker (one
//! answer, one slice, a shutdown). A worker that leaves all of that unread is not reading at
//! all: the frame is refused and its connection closed (its slice goes back to the queue), so
//! nothing is queued without bound and no frame overtakes another.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use super::{Envelope, Message};
use crate::error::TransportError;

/// Frames that senders which can wait may have queued for one worker.
pub const OUTBOX: usize = 64;
/// Room beyond [`OUTBOX`] for the frames the engine queues without waiting.
pub const RESERVE: usize = 16;

/// One encoded frame in a worker's outgoing queue; its place (if it took one) is freed when
/// the writer takes it.
pub struct Frame {
    pub text: String,
    _place: Option<OwnedSemaphorePermit>,
}

/// The writer's end of a worker's outgoing queue.
pub struct Outbox {
    pub frames: mpsc::Receiver<Frame>,
    /// Notified when a frame was refused because the queue was full: close the connection.
    pub overwhelmed: Arc<Notify>,
}

/// A new worker connection's [`Peer`] and the writer's end of its queue.
pub fn outbox() -> (Peer, Outbox) {
    let (out, frames) = mpsc::channel(OUTBOX + RESERVE);
    let overwhelmed = Arc::new(Notify::new());
    let peer = Peer {
        out,
        places: Arc::new(Semaphore::new(OUTBOX)),
        overwhelmed: overwhelmed.clone(),
        next_id: Arc::new(AtomicU64::new(1)),
    };
    (
        peer,
        Outbox {
            frames,
            overwhelmed,
        },
    )
}

#[derive(Clone)]
pub struct Peer {
    out: mpsc::Sender<Frame>,
    places: Arc<Semaphore>,
    overwhelmed: Arc<Notify>,
    next_id: Arc<AtomicU64>,
}

impl Peer {
    fn envelope(&self, message: Message, reply_to: Option<u64>) -> Envelope {
        Envelope {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            reply_to,
            message,
        }
    }

    fn encode(env: &Envelope) -> Result<String, TransportError> {
        serde_json::to_string(env)
            .map_err(|e| TransportError::Unexpected(env.message.event(), e.to_string()))
    }

    /// Queues a frame once one of the [`OUTBOX`] places is free.
    async fn write(&self, env: &Envelope) -> Result<(), TransportError> {
        let text = Self::encode(env)?;
        let closed = || TransportError::Closed(env.message.event());
        let place = self
            .places
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        let frame = Frame {
            text,
            _place: Some(place),
        };
        self.out.send(frame).await.map_err(|_| closed())
    }

    /// Sends a notice, waiting for room in the outgoing queue.
    pub async fn send(&self, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, None);
        self.write(&env).await
    }

    /// Answers the request `request_id`, waiting for room in the outgoing queue.
    pub async fn reply(&self, request_id: u64, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, Some(request_id));
        self.write(&env).await
    }

    /// Queues a frame now, after everything queued before it; a full queue closes the
    /// connection instead (see the module notes).
    fn queue_now(&self, env: &Envelope) -> Result<(), TransportError> {
        let text = Self::encode(env)?;
        let frame = Frame { text, _place: None };
        match self.out.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overwhelmed.notify_one();
                Err(TransportError::Overwhelmed(
                    env.message.event(),
                    OUTBOX + RESERVE,
                ))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(TransportError::Closed(env.message.event()))
            }
        }
    }

    /// The encoded answer to `request_id`, for a caller that writes it to the socket itself.
    pub fn reply_frame(&self, request_id: u64, message: Message) -> Result<String, TransportError> {
        Self::encode(&self.envelope(message, Some(request_id)))
    }

    /// Answers without waiting (so the caller, e.g. the EC's engine, never blocks on one slow
    /// worker): see [`Peer::send_now`].
    pub fn reply_now(&self, request_id: u64, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, Some(request_id));
        self.queue_now(&env)
    }

    /// Sends a notice without waiting: queued after every frame queued before it, or refused
    /// with [`TransportError::Overwhelmed`] (and the connection closed) when the worker has
    /// left the whole queue unread.
    pub fn send_now(&self, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, None);
        self.queue_now(&env)
    }

    /// Reads one received frame: a request or notice is returned; a reply (the EC asks
    /// nothing, so nobody waits for one) or a frame that is not an envelope is logged and
    /// dropped.
    pub fn route_incoming(&self, text: &str) -> Option<Envelope> {
        match Envelope::decode(text) {
            Ok(env) if env.reply_to.is_some() => {
                tracing::debug!(reply_to = env.reply_to, "unexpected reply dropped");
                None
            }
            Ok(env) => Some(env),
            Err(e) => {
                tracing::warn!(error = %e, "dropping a frame that is not a valid message");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn read(outbox: &mut Outbox) -> Vec<Envelope> {
        let mut got = Vec::new();
        while let Ok(frame) = outbox.frames.try_recv() {
            match serde_json::from_str::<Envelope>(&frame.text) {
                Ok(env) => got.push(env),
                Err(e) => panic!("not an envelope: {e}"),
            }
        }
        got
    }

    #[tokio::test]
    async fn frames_leave_in_order_with_fresh_ids_and_answers_name_their_request() {
        let (peer, mut outbox) = outbox();
        assert_eq!(peer.reply_now(7, Message::Welcome), Ok(()));
        assert_eq!(peer.send_now(Message::Shutdown), Ok(()));
        let first = Envelope {
            id: 1,
            reply_to: Some(7),
            message: Message::Welcome,
        };
        let second = Envelope {
            id: 2,
            reply_to: None,
            message: Message::Shutdown,
        };
        assert_eq!(read(&mut outbox), vec![first, second]);
    }

    #[test]
    fn requests_are_routed_and_replies_and_garbage_dropped() {
        let (peer, _outbox) = outbox();
        let available = peer.route_incoming(r#"{"id":1,"event":"client:available"}"#);
        assert_eq!(available.map(|e| e.message), Some(Message::Available));
        assert!(peer
            .route_incoming(r#"{"id":2,"reply_to":1,"event":"worker:welcome"}"#)
            .is_none());
        assert!(peer.route_incoming("not json").is_none());
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_error() {
        let (peer, outbox) = outbox();
        drop(outbox);
        assert_eq!(
            peer.send(Message::Shutdown).await,
            Err(TransportError::Closed("shutdown"))
        );
        assert_eq!(
            peer.send_now(Message::Shutdown),
            Err(TransportError::Closed("shutdown"))
        );
    }

    /// A sender that can wait waits for a place (nothing is spawned); the engine's frames still
    /// get in, in order behind it, until the reserve is used up too; then the worker is
    /// dropped.
    #[tokio::test]
    async fn a_full_queue_makes_senders_wait_and_then_closes_an_unread_connection() {
        let (peer, mut outbox) = outbox();
        for _ in 0..OUTBOX {
            assert_eq!(peer.send(Message::Available).await, Ok(()));
        }
        let waiting = {
            let peer = peer.clone();
            tokio::spawn(async move { peer.send(Message::ClientShutdown).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a sender did not wait for a place");
        for _ in 0..RESERVE {
            assert_eq!(peer.send_now(Message::Welcome), Ok(()));
        }
        assert_eq!(
            peer.send_now(Message::Shutdown),
            Err(TransportError::Overwhelmed("shutdown", OUTBOX + RESERVE))
        );
        let told = tokio::time::timeout(Duration::from_secs(10), outbox.overwhelmed.notified());
        assert!(told.await.is_ok(), "the session was not told to close");
        // The writer takes everything: the waiting sender gets its place, after the others.
        let mut events: Vec<&str> = read(&mut outbox)
            .iter()
            .map(|e| e.message.event())
            .collect();
        match waiting.await {
            Ok(sent) => assert_eq!(sent, Ok(())),
            Err(e) => panic!("sender task: {e}"),
        }
        events.extend(read(&mut outbox).iter().map(|e| e.message.event()));
        let mut expected = vec!["client:available"; OUTBOX];
        expected.extend(vec!["worker:welcome"; RESERVE]);
        expected.push("client:shutdown");
        assert_eq!(events, expected);
    }
}
