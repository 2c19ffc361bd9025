//! The dispatch baseline: a raw request/response loop over the product's transport (WebSocket
//! text frames, the same read buffer), laid out like the EC and its workers: the server on one
//! current-thread runtime, each client on its own.
use std::time::Instant;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::threads::on_own_thread;

/// `clients` clients, `total` round trips in all: each sends `request`-byte text frames and
/// awaits a `reply`-byte answer. Returns round trips per second.
pub async fn raw_websocket_rate(
    clients: usize,
    total: u64,
    request: usize,
    reply: usize,
) -> anyhow::Result<f64> {
    let (addr_tx, addr_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = on_own_thread(move || async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let _ = addr_tx.send(listener.local_addr()?);
        let answer = "r".repeat(reply);
        let accept = async {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(echo(tcp, answer.clone()));
            }
        };
        tokio::select! {
            () = accept => {}
            _ = stop_rx => {}
        }
        Ok(())
    });
    let addr = addr_rx.await.context("the raw server did not start")?;
    let per_client = total / clients as u64;
    let started = Instant::now();
    let runs: Vec<_> = (0..clients)
        .map(|_| {
            let body = "q".repeat(request);
            on_own_thread(move || async move {
                let config = Some(teraslice_runtime::protocol::websocket_config());
                let url = format!("ws://{addr}/");
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, config, true).await?;
                for _ in 0..per_client {
                    ws.send(WsMessage::text(body.clone())).await?;
                    match ws.next().await {
                        Some(Ok(_)) => {}
                        other => anyhow::bail!("raw loop: no answer: {other:?}"),
                    }
                }
                Ok(())
            })
        })
        .collect();
    for run in runs {
        run.await.context("raw client thread")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    server.await.context("raw server thread")??;
    Ok((per_client * clients as u64) as f64 / elapsed)
}

/// Answers every text frame with `answer` (with TCP_NODELAY, as the EC's sockets).
async fn echo(tcp: tokio::net::TcpStream, answer: String) {
    let _ = tcp.set_nodelay(true);
    let config = Some(teraslice_runtime::protocol::websocket_config());
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, config).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if msg.is_text() && ws.send(WsMessage::text(answer.clone())).await.is_err() {
            return;
        }
    }
}
