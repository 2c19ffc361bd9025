//! Every request body is read before its route answers. A route may refuse a request without
//! looking at its body (`POST /assets` refuses every upload); if the server answered and closed
//! the connection while the client was still sending, the client would see `write EPIPE` or a
//! reset instead of the answer. Bodies up to `teraslice.api_payload_limit` are buffered and handed
//! on; a larger one is read and thrown away (up to [`DRAIN_CAP`] bytes in total, within
//! [`DRAIN_TIME`]) and answered with 413, so the client reads the 413 too.
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::error::ApiError;

/// An oversize body is read and dropped up to this many bytes, then the connection is closed.
pub const DRAIN_CAP: usize = 64 * 1024 * 1024;
/// An oversize body is read and dropped for at most this long.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Middleware: buffers the body (up to `limit` bytes) before the route runs.
pub async fn read_body_first(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match buffer(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) => e.into_response(),
    }
}

async fn buffer(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut kept: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::Body(e.to_string()))?;
        if kept.len() + chunk.len() > limit {
            let seen = kept.len() + chunk.len();
            drop(kept);
            discard_rest(stream, seen).await;
            return Err(ApiError::TooLarge { limit });
        }
        kept.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(kept))
}

/// Reads and drops what is left of an oversize body, within [`DRAIN_CAP`] and [`DRAIN_TIME`].
async fn discard_rest(mut stream: axum::body::BodyDataStream, mut seen: usize) {
    let drain = async {
        while seen <= DRAIN_CAP {
            match stream.next().await {
                Some(Ok(chunk)) => seen += chunk.len(),
                _ => return,
            }
        }
    };
    if tokio::time::timeout(DRAIN_TIME, drain).await.is_err() {
        tracing::debug!("stopped reading an oversize request body after {DRAIN_TIME:?}");
    }
}
