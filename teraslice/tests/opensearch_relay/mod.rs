//! A TCP relay in front of OpenSearch that a test can cut (connections refused, open ones
//! dropped) and restore on the same port, to simulate a store outage without touching the
//! shared OpenSearch node.
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

pub struct Relay {
    addr: SocketAddr,
    target: String,
    /// The accept loop and every connection of the current "up" period.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// Relays a free local port to the `http://host:port` of `url`.
    pub async fn start(url: &str) -> Relay {
        let target = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        let relay = Relay {
            addr,
            target,
            tasks: Arc::default(),
        };
        relay.serve(listener).await;
        relay
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn serve(&self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let target = self.target.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().await.push(conn);
            }
        });
        self.tasks.lock().await.push(accept);
    }

    /// Closes the port and drops every open connection: the store is unreachable.
    pub async fn cut(&self) {
        for t in self.tasks.lock().await.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens on the same port again.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the relay port");
        self.serve(listener).await;
    }
}
