//! A TCP relay in front of the EC that can turn into a blackhole: every connection through it
//! (and every new one) stays open but nothing is forwarded any more in either direction, and
//! nothing is closed — what a peer that vanished without a FIN looks like.
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Relay {
    pub addr: SocketAddr,
    /// True: blackhole (connections open before the switch stay dead after a `heal`).
    cut: Arc<watch::Sender<bool>>,
}

impl Relay {
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("relay bind: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("relay addr: {e}"),
        };
        let cut = Arc::new(watch::channel(false).0);
        let accepting = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, accepting.subscribe()));
            }
        });
        Relay { addr, cut }
    }

    /// Stops forwarding on every connection, open or new, without closing any.
    pub fn blackhole(&self) {
        self.cut.send_replace(true);
    }

    /// New connections are forwarded again; the ones cut stay dead.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

async fn relay(client: TcpStream, target: SocketAddr, cut: watch::Receiver<bool>) {
    if *cut.borrow() {
        swallow(client).await;
        return;
    }
    let Ok(upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    tokio::join!(pump(cr, uw, cut.clone()), pump(ur, cw, cut));
}

/// Copies `from` to `to` until the cut; after it, reads and drops everything, forever.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut cut: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if *cut.borrow_and_update() {
            break;
        }
        tokio::select! {
            n = from.read(&mut buf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if *cut.borrow() || to.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            },
            _ = cut.changed() => {}
        }
    }
    // Cut: `to` is kept (never shut down) and whatever comes is dropped.
    let _keep_open = to;
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            // The far end closed; the near end must not learn it: hold on for good.
            std::future::pending::<()>().await;
        }
    }
    std::future::pending::<()>().await;
}

/// A connection made during a blackhole: accepted, read, never answered, never closed.
async fn swallow(mut client: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = client.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
    std::future::pending::<()>().await;
}
