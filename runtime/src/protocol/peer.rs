//! `Peer`: request/response over one WebSocket connection, the same on both sides. The socket's
//! reader hands every text frame to [`Peer::route_incoming`]; replies complete the waiting
//! request, everything else is returned to the caller. Outgoing frames go through a bounded
//! channel to the socket's writer (back-pressure on a slow peer).
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{Envelope, Message};
use crate::error::TransportError;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Message>>>>;

#[derive(Clone)]
pub struct Peer {
    out: mpsc::Sender<String>,
    next_id: Arc<AtomicU64>,
    pending: Pending,
}

impl Peer {
    pub fn new(out: mpsc::Sender<String>) -> Self {
        Peer {
            out,
            next_id: Arc::new(AtomicU64::new(1)),
            pending: Arc::default(),
        }
    }

    fn envelope(&self, message: Message, reply_to: Option<u64>) -> Envelope {
        Envelope {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            reply_to,
            message,
        }
    }

    async fn write(&self, env: &Envelope) -> Result<(), TransportError> {
        let event = env.message.event();
        let text = serde_json::to_string(env)
            .map_err(|e| TransportError::Unexpected(event, e.to_string()))?;
        self.out
            .send(text)
            .await
            .map_err(|_| TransportError::Closed(event))
    }

    /// Sends without waiting for a reply.
    pub async fn send(&self, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, None);
        self.write(&env).await
    }

    /// Answers the request `request_id`.
    pub async fn reply(&self, request_id: u64, message: Message) -> Result<(), TransportError> {
        let env = self.envelope(message, Some(request_id));
        self.write(&env).await
    }

    /// Queues a frame without waiting for room in the outgoing queue: now if there is room
    /// (in order with the caller's other `*_now` frames), else from a task.
    fn queue_now(&self, env: &Envelope) -> Result<(), TransportError> {
        let event = env.message.event();
        let text = serde_json::to_string(env)
            .map_err(|e| TransportError::Unexpected(event, e.to_string()))?;
        match self.out.try_send(text) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(text)) => {
                let out = self.out.clone();
                tokio::spawn(async move {
                    let _ = out.send(text).await;
                });
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(TransportError::Closed(event)),
        }
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

    /// Sends and waits up to `timeout` for the reply; an `Error` reply becomes `Remote`.
    pub async fn request(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, TransportError> {
        let event = message.event();
        let env = self.envelope(message, None);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(env.id, tx);
        let outcome = async {
            self.write(&env).await?;
            wait_reply(rx, timeout, event).await
        }
        .await;
        self.lock().remove(&env.id);
        outcome
    }

    /// Routes one received frame: a reply completes its request (`None`), anything else is
    /// returned. A frame that is not an envelope is logged and dropped.
    pub fn route_incoming(&self, text: &str) -> Option<Envelope> {
        let env: Envelope = match serde_json::from_str(text) {
            Ok(env) => env,
            Err(e) => {
                tracing::warn!(error = %e, "dropping a frame that is not a valid message");
                return None;
            }
        };
        if let Some(request_id) = env.reply_to {
            match self.lock().remove(&request_id) {
                Some(waiter) => {
                    // The requester may have timed out meanwhile; then nobody wants it.
                    let _ = waiter.send(env.message);
                }
                None => tracing::debug!(request_id, "late reply dropped"),
            }
            return None;
        }
        Some(env)
    }

    /// Fails every waiting request (the connection is gone).
    pub fn close(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Message>>> {
        // A poisoned map only means another thread panicked mid-insert; the map is still usable.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Waits up to `timeout` for a reply; an `Error` reply becomes `Remote`.
async fn wait_reply(
    rx: oneshot::Receiver<Message>,
    timeout: Duration,
    event: &'static str,
) -> Result<Message, TransportError> {
    match tokio::time::timeout(timeout, rx).await {
        Err(_) => Err(TransportError::Timeout(timeout, event)),
        Ok(Err(_)) => Err(TransportError::Closed(event)),
        Ok(Ok(Message::Error { message })) => Err(TransportError::Remote { event, message }),
        Ok(Ok(reply)) => Ok(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_completes_its_request() -> Result<(), TransportError> {
        let (tx, mut rx) = mpsc::channel(4);
        let peer = Peer::new(tx);
        let p2 = peer.clone();
        let answer = tokio::spawn(async move {
            let Some(text) = rx.recv().await else { return };
            let Some(req) = p2.route_incoming(&text) else {
                return;
            };
            let reply = Envelope {
                id: 100,
                reply_to: Some(req.id),
                message: Message::Welcome,
            };
            let text = serde_json::to_string(&reply).unwrap_or_default();
            assert!(p2.route_incoming(&text).is_none());
        });
        let got = peer
            .request(Message::Available, Duration::from_secs(30))
            .await?;
        assert_eq!(got, Message::Welcome);
        assert!(answer.await.is_ok());
        Ok(())
    }

    #[tokio::test]
    async fn closed_connection_fails_the_request() {
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        let peer = Peer::new(tx);
        let err = peer
            .request(Message::Available, Duration::from_secs(30))
            .await;
        assert_eq!(err, Err(TransportError::Closed("client:available")));
    }
}
