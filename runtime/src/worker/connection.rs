//! The worker's WebSocket to its EC (tokio-tungstenite): connect with backoff, the
//! `worker:hello` handshake, and an I/O task that lives exactly as long as the connection.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::protocol::{websocket_config, Envelope, Message, Peer, WORKER_WS_PATH};

const CHANNEL: usize = 64;

/// An open, greeted connection. Dropping it closes the socket (the I/O task is aborted).
pub struct EcConnection {
    pub peer: Peer,
    /// Requests and notices from the EC; `None` once the connection is gone.
    pub incoming: mpsc::Receiver<Envelope>,
    _io: JoinSet<()>,
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

/// One attempt: open the socket and say hello.
pub async fn connect_once(
    url: &str,
    worker_id: &str,
    ex_id: &str,
    timeout: Duration,
) -> Result<EcConnection, String> {
    let (ws, _) = tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(url, Some(websocket_config()), true),
    )
    .await
    .map_err(|_| format!("no answer within {timeout:?}"))?
    .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(CHANNEL);
    let (in_tx, in_rx) = mpsc::channel::<Envelope>(CHANNEL);
    let peer = Peer::new(out_tx);
    let io_peer = peer.clone();
    let mut io = JoinSet::new();
    io.spawn(async move {
        loop {
            tokio::select! {
                out = out_rx.recv() => match out {
                    Some(text) => {
                        // Everything already queued goes out with one flush (one socket write).
                        let mut sent = sink.feed(WsMessage::text(text)).await;
                        while sent.is_ok() {
                            match out_rx.try_recv() {
                                Ok(text) => sent = sink.feed(WsMessage::text(text)).await,
                                Err(_) => break,
                            }
                        }
                        if sent.is_err() || sink.flush().await.is_err() {
                            break;
                        }
                    }
                    None => {
                        let _ = sink.send(WsMessage::Close(None)).await;
                        break;
                    }
                },
                frame = stream.next() => match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        if let Some(env) = io_peer.route_incoming(text.as_str()) {
                            if in_tx.send(env).await.is_err() {
                                break;
                            }
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        io_peer.close();
    });
    let hello = Message::Hello {
        worker_id: worker_id.to_string(),
        ex_id: ex_id.to_string(),
    };
    match peer.request(hello, timeout).await {
        Ok(Message::Welcome) => Ok(EcConnection {
            peer,
            incoming: in_rx,
            _io: io,
        }),
        Ok(other) => Err(format!(
            "unexpected answer to worker:hello: {}",
            other.event()
        )),
        Err(e) => Err(e.to_string()),
    }
}
