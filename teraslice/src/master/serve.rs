//! The master's HTTP server. `axum::serve` gives hyper no timer, so a client that opens
//! connections and never finishes a request head holds each one for good (slowloris); here
//! axum's router runs on hyper-util's connection builder with a header-read timeout.
use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tracing::{debug, warn};

/// How long a client may take to send a request's head (line and headers).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections the kernel queues before the master accepts them (tokio's default is 1,024;
/// bursts of clients beyond it were reset before the master saw them). Capped by `somaxconn`.
pub const ACCEPT_BACKLOG: u32 = 4096;

/// Binds `addr` with [`ACCEPT_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind` does).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Serves `app` until `shutdown` resolves, then waits for the requests in progress.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    serve_with(listener, app, shutdown, HEADER_READ_TIMEOUT).await
}

pub(crate) async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    header_read_timeout: Duration,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn started(
        timeout: Duration,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("addr: {e}"),
        };
        let app = Router::new().route("/", get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_with(
            listener,
            app,
            async move {
                let _ = stopped.await;
            },
            timeout,
        ));
        (addr, stop)
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
        let (addr, _stop) = started(Duration::from_millis(300)).await;
        let mut slow = match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => panic!("connect: {e}"),
        };
        if let Err(e) = slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await {
            panic!("write: {e}");
        }
        // The server closes the connection (EOF or reset); the bound only keeps a broken
        // server from hanging the test.
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "the half-sent request kept its connection open"
        );
        // A complete request is still answered.
        let mut ok = match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => panic!("connect: {e}"),
        };
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if let Err(e) = ok.write_all(request).await {
            panic!("write: {e}");
        }
        let mut answer = String::new();
        let _ = ok.read_to_string(&mut answer).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let (addr, stop) = started(HEADER_READ_TIMEOUT).await;
        let _ = stop.send(());
        let refused = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if tokio::net::TcpStream::connect(addr).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "the listener stayed open after shutdown");
    }
}
