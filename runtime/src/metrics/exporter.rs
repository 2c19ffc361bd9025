//! The `/metrics` HTTP server of a process, on its own port as in Teraslice.
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

use super::ProcessMetrics;

/// Called before each scrape to set the gauges read from elsewhere (Teraslice's `collect`).
pub type Refresh = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A running `/metrics` server; stops when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Served {
    metrics: Arc<ProcessMetrics>,
    refresh: Option<Refresh>,
}

/// Binds `bind` and serves `GET /metrics` (text format 0.0.4); `GET /` answers 404 pointing
/// there, as Teraslice's exporter does.
pub async fn serve(
    bind: SocketAddr,
    metrics: Arc<ProcessMetrics>,
    refresh: Option<Refresh>,
) -> std::io::Result<MetricsServer> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "See the '/metrics' endpoint for the teraslice metric exporter\n",
            )
        })
        .with_state(Served { metrics, refresh });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "metrics server ended");
        }
    });
    tracing::info!(%addr, "prometheus metrics served at http://{addr}/metrics");
    Ok(MetricsServer { addr, task })
}

async fn scrape(State(s): State<Served>) -> impl IntoResponse {
    if let Some(refresh) = &s.refresh {
        refresh().await;
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], s.metrics.encode())
}
