//! The worker's WebSocket to its EC (tokio-tungstenite): connect, the `worker:hello` handshake,
//! and request/response on a socket the worker task owns itself. A worker handles one thing
//! at a time, so no I/O task sits between it and the socket (one task hop less per frame).
//! While it reads (it always does, also while a slice runs) it pings the EC every quarter of
//! `heartbeat_timeout`, and treats an EC it has heard nothing from for that long (no frame,
//! ping or pong) as gone, as if the socket had closed: the worker reconnects or gives up.
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::TransportError;
use crate::protocol::{ping_interval, websocket_config, Envelope, Message, WORKER_WS_PATH};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The socket and what the worker knows of the EC's liveness.
struct Link {
    ws: Socket,
    open: bool,
    heartbeat_timeout: Duration,
    /// When the last frame (of any kind) came in.
    heard: Instant,
    /// The next ping; at each one, an EC silent for `heartbeat_timeout` counts as gone.
    ping: Pin<Box<Sleep>>,
}

/// An open, greeted connection. Dropping it closes the socket.
pub struct EcConnection {
    link: Link,
    next_id: u64,
    /// Notices that arrived while a request waited for its reply, in arrival order.
    stash: VecDeque<Envelope>,
    /// One timer for every request's timeout: it is moved only when it would fire after the
    /// current request's deadline, and re-armed when it fires early, so a request does not
    /// add and remove a timer of its own (one per slice).
    timer: Pin<Box<Sleep>>,
}

/// `ws://host:port/api/v1/ws` from `host:port` or a `ws://`/`http://` base URL.
pub fn worker_url(ec_address: &str) -> String {
    let base = ec_address.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_string()
    } else {
        format!("ws://{base}")
    };
    if base.ends_with(WORKER_WS_PATH) {
        base
    } else {
        format!("{base}{WORKER_WS_PATH}")
    }
}

fn upgrade_request(url: &str, secret: Option<&str>) -> Result<Request, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("{url}: {e}"))?;
    if let Some(secret) = secret {
        let value = HeaderValue::from_str(&format!("Bearer {secret}")).map_err(|_| {
            "the execution's control secret is not a valid header value".to_string()
        })?;
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    Ok(request)
}

/// One attempt: open the socket and say hello, within `heartbeat_timeout` (the handshake's
/// timeout).
/// With `secret` (the execution's control secret) the upgrade carries `Authorization: Bearer`,
/// which an EC of an execution that has one requires.
pub async fn connect_once(
    url: &str,
    worker_id: &str,
    ex_id: &str,
    secret: Option<&str>,
    heartbeat_timeout: Duration,
) -> Result<EcConnection, String> {
    let timeout = heartbeat_timeout;
    let ws = open_socket(url, secret, timeout).await?;
    let now = Instant::now();
    let mut conn = EcConnection {
        link: Link {
            ws,
            open: true,
            heartbeat_timeout,
            heard: now,
            ping: Box::pin(tokio::time::sleep_until(
                now + ping_interval(heartbeat_timeout),
            )),
        },
        next_id: 1,
        stash: VecDeque::new(),
        timer: Box::pin(tokio::time::sleep(timeout)),
    };
    let hello = Message::Hello {
        worker_id: worker_id.to_string(),
        ex_id: ex_id.to_string(),
    };
    match conn.request(hello, timeout).await {
        Ok(Message::Welcome) => Ok(conn),
        Ok(other) => Err(format!(
            "unexpected answer to worker:hello: {}",
            other.event()
        )),
        Err(e) => Err(e.to_string()),
    }
}

async fn open_socket(url: &str, secret: Option<&str>, timeout: Duration) -> Result<Socket, String> {
    let request = upgrade_request(url, secret)?;
    let (ws, _) = tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(request, Some(websocket_config()), true),
    )
    .await
    .map_err(|_| format!("no answer within {timeout:?}"))?
    .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// One attempt to tell the EC this worker cannot start: a connection whose only frame is
/// `worker:failed`, closed right after.
pub async fn send_failure_once(
    url: &str,
    worker_id: &str,
    ex_id: &str,
    secret: Option<&str>,
    timeout: Duration,
    error: &str,
) -> Result<(), String> {
    let mut ws = open_socket(url, secret, timeout).await?;
    let env = Envelope {
        id: 1,
        reply_to: None,
        message: Message::Failed {
            worker_id: worker_id.to_string(),
            ex_id: ex_id.to_string(),
            error: error.to_string(),
        },
    };
    let text = serde_json::to_string(&env).map_err(|e| e.to_string())?;
    let sent = tokio::time::timeout(timeout, async {
        ws.send(WsMessage::text(text)).await?;
        ws.close(None).await
    })
    .await
    .map_err(|_| format!("no room to send within {timeout:?}"))?;
    sent.map_err(|e| e.to_string())
}

impl EcConnection {
    /// Sends a notice.
    pub async fn send(&mut self, message: Message) -> Result<u64, TransportError> {
        let event = message.event();
        if !self.link.open {
            return Err(TransportError::Closed(event));
        }
        let id = self.next_id;
        self.next_id += 1;
        let env = Envelope {
            id,
            reply_to: None,
            message,
        };
        let text = serde_json::to_string(&env)
            .map_err(|e| TransportError::Unexpected(event, e.to_string()))?;
        if self.link.ws.send(WsMessage::text(text)).await.is_err() {
            self.link.open = false;
            return Err(TransportError::Closed(event));
        }
        Ok(id)
    }

    /// The next request or notice from the EC; `None` once the connection is gone. Replies
    /// nobody waits for any more are dropped. Cancel-safe (a frame is never half taken).
    pub async fn recv(&mut self) -> Option<Envelope> {
        if let Some(env) = self.stash.pop_front() {
            return Some(env);
        }
        loop {
            let env = self.read_frame().await?;
            if env.reply_to.is_none() {
                return Some(env);
            }
            tracing::debug!(reply_to = env.reply_to, "late reply dropped");
        }
    }

    /// A notice the EC sent before the connection failed (e.g. its `shutdown`), if any.
    pub fn take_stashed(&mut self) -> Option<Envelope> {
        self.stash.pop_front()
    }

    /// Sends and waits up to `timeout` for the reply; notices that come first are kept for
    /// [`EcConnection::recv`]. An `Error` reply becomes `Remote`.
    pub async fn request(
        &mut self,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, TransportError> {
        let event = message.event();
        let id = self.send(message).await?;
        let deadline = Instant::now() + timeout;
        if self.timer.is_elapsed() || self.timer.deadline() > deadline {
            self.timer.as_mut().reset(deadline);
        }
        let reply = loop {
            let env = tokio::select! {
                env = self.link.read_frame() => env,
                () = self.timer.as_mut() => {
                    if Instant::now() >= deadline {
                        return Err(TransportError::Timeout(timeout, event));
                    }
                    // Armed for an earlier request: wait for this one's deadline.
                    self.timer.as_mut().reset(deadline);
                    continue;
                }
            };
            let Some(env) = env else {
                return Err(TransportError::Closed(event));
            };
            match env.reply_to {
                Some(r) if r == id => break env.message,
                Some(_) => tracing::debug!(reply_to = env.reply_to, "late reply dropped"),
                None => self.stash.push_back(env),
            }
        };
        match reply {
            Message::Error { message } => Err(TransportError::Remote { event, message }),
            reply => Ok(reply),
        }
    }

    async fn read_frame(&mut self) -> Option<Envelope> {
        self.link.read_frame().await
    }
}

impl Link {
    /// The next envelope on the socket; `open` turns false when it closes or the EC has been
    /// silent for `heartbeat_timeout`. Cancel-safe (a frame is never half taken; a ping cut
    /// short goes out with the next write).
    async fn read_frame(&mut self) -> Option<Envelope> {
        while self.open {
            let frame = tokio::select! {
                frame = self.ws.next() => frame,
                () = self.ping.as_mut() => {
                    self.on_ping_time().await;
                    continue;
                }
            };
            self.heard = Instant::now();
            match frame {
                Some(Ok(WsMessage::Text(text))) => match Envelope::decode(text.as_str()) {
                    Ok(env) => return Some(env),
                    Err(e) => {
                        tracing::warn!(error = %e, "dropping a frame that is not a valid message");
                    }
                },
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => self.open = false,
                // A ping is answered by the socket itself (on its next read or write).
                Some(Ok(_)) => {}
            }
        }
        None
    }

    /// Drops an EC silent for the whole timeout, else pings it.
    async fn on_ping_time(&mut self) {
        let timeout = self.heartbeat_timeout;
        if self.heard.elapsed() >= timeout {
            tracing::warn!(?timeout, "nothing heard from the execution controller within heartbeat_timeout: dropping the connection");
            self.open = false;
            return;
        }
        let interval = ping_interval(timeout);
        self.ping.as_mut().reset(Instant::now() + interval);
        // A socket with no room for a ping for that long is as good as gone.
        let ping = self.ws.send(WsMessage::Ping(Default::default()));
        if !matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(()))) {
            self.open = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// An EC that greets, answers `answered` requests, then reads on without answering.
    async fn scripted_ec(listener: TcpListener, answered: usize) {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let mut seen = 0;
        while let Some(Ok(frame)) = ws.next().await {
            let WsMessage::Text(text) = frame else {
                continue;
            };
            let Ok(env) = serde_json::from_str::<Envelope>(text.as_str()) else {
                continue;
            };
            if seen > answered {
                continue;
            }
            seen += 1;
            let answer = Envelope {
                id: seen as u64,
                reply_to: Some(env.id),
                message: Message::Welcome,
            };
            let Ok(text) = serde_json::to_string(&answer) else {
                return;
            };
            if ws.send(WsMessage::text(text)).await.is_err() {
                return;
            }
        }
    }

    #[tokio::test]
    async fn an_unanswered_request_times_out_after_its_own_full_timeout() {
        let timeout = Duration::from_millis(300);
        let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
            panic!("cannot bind");
        };
        let url = match listener.local_addr() {
            Ok(addr) => worker_url(&addr.to_string()),
            Err(e) => panic!("{e}"),
        };
        tokio::spawn(scripted_ec(listener, 2));
        let mut conn = match connect_once(&url, "w1", "ex1", None, timeout).await {
            Ok(conn) => conn,
            Err(e) => panic!("connect: {e}"),
        };
        assert_eq!(
            conn.request(Message::Available, timeout).await,
            Ok(Message::Welcome)
        );
        // The shared timer is still armed for the first request's deadline: it fires during
        // the last request, which must still get its whole timeout.
        tokio::time::sleep(timeout * 2 / 3).await;
        assert_eq!(
            conn.request(Message::Available, timeout).await,
            Ok(Message::Welcome)
        );
        let started = Instant::now();
        let unanswered = conn.request(Message::Available, timeout).await;
        assert_eq!(
            unanswered,
            Err(TransportError::Timeout(timeout, "client:available"))
        );
        assert!(
            started.elapsed() >= timeout,
            "timed out after {:?}, before its {timeout:?}",
            started.elapsed()
        );
    }
}
