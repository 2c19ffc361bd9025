//! `Peer`: the EC's side of one worker connection. The socket's reader hands every text frame to
//! [`Peer::route_incoming`]; outgoing frames go through a bounded channel to the socket's writer
//! (back-pressure on a slow worker). The EC only answers and notifies: it never waits for a
//! reply from a worker (the worker's side is `worker::connection::EcConnection`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Envelope, Message};
use crate::error::TransportError;

#[derive(Clone)]
pub struct Peer {
    out: mpsc::Sender<String>,
    next_id: Arc<AtomicU64>,
}

impl Peer {
    pub fn new(out: mpsc::Sender<String>) -> Self {
        Peer {
            out,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

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

    async fn write(&self, env: &Envelope) -> Result<(), TransportError> {
        let text = Self::encode(env)?;
        self.out
            .send(text)
            .await
            .map_err(|_| TransportError::Closed(env.message.event()))
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

    /// Queues a frame without waiting for room in the outgoing queue: now if there is room
    /// (in order with the caller's other `*_now` frames), else from a task.
    fn queue_now(&self, env: &Envelope) -> Result<(), TransportError> {
        let text = Self::encode(env)?;
        match self.out.try_send(text) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(text)) => {
                let out = self.out.clone();
                tokio::spawn(async move {
                    let _ = out.send(text).await;
                });
                Ok(())
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

    /// Answers without waiting for room in the outgoing queue (so the caller, e.g. the EC's
    /// engine, never blocks on one slow worker): queued now if there is room, else from a task.
    pub fn reply_now(&self, request_id: u64, message: Message) {
        let env = self.envelope(message, Some(request_id));
        let _ = self.queue_now(&env);
    }

    /// Sends a notice without waiting for room in the outgoing queue (see [`Peer::reply_now`]).
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
    use super::*;

    #[tokio::test]
    async fn frames_leave_in_order_with_fresh_ids_and_answers_name_their_request() {
        let (tx, mut rx) = mpsc::channel(4);
        let peer = Peer::new(tx);
        peer.reply_now(7, Message::Welcome);
        assert_eq!(peer.send_now(Message::Shutdown), Ok(()));
        let mut got = Vec::new();
        while let Ok(text) = rx.try_recv() {
            got.push(serde_json::from_str::<Envelope>(&text).map_err(|e| e.to_string()));
        }
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
        assert_eq!(got, vec![Ok(first), Ok(second)]);
    }

    #[test]
    fn requests_are_routed_and_replies_and_garbage_dropped() {
        let (tx, _rx) = mpsc::channel(4);
        let peer = Peer::new(tx);
        let available = peer.route_incoming(r#"{"id":1,"event":"client:available"}"#);
        assert_eq!(available.map(|e| e.message), Some(Message::Available));
        assert!(peer
            .route_incoming(r#"{"id":2,"reply_to":1,"event":"worker:welcome"}"#)
            .is_none());
        assert!(peer.route_incoming("not json").is_none());
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_error() {
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        let peer = Peer::new(tx);
        assert_eq!(
            peer.send(Message::Shutdown).await,
            Err(TransportError::Closed("shutdown"))
        );
        assert_eq!(
            peer.send_now(Message::Shutdown),
            Err(TransportError::Closed("shutdown"))
        );
    }
}
