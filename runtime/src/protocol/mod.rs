//! The EC⇄worker protocol: JSON messages in an envelope with request ids, sent as WebSocket
//! text frames (see docs/runtime.md for the message table).
mod decode;
mod messages;
mod peer;

pub use decode::FrameError;
pub use messages::{Envelope, Message, SliceAnalytics, SliceReport};
pub use peer::{outbox, Frame, Outbox, Peer, OUTBOX, RESERVE};

/// Path of the worker WebSocket on the EC's HTTP port.
pub const WORKER_WS_PATH: &str = "/api/v1/ws";

/// Bytes read from the socket at a time. Frames here are a few hundred bytes; tungstenite's
/// default (128 KiB) zeroes that much buffer on every read, which cost more than the JSON.
/// A larger frame is still read whole, in several reads.
pub const READ_BUFFER_SIZE: usize = 8 * 1024;

/// The WebSocket settings of both ends (also used by the dispatch benchmark's raw baseline).
pub fn websocket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
}

/// How often each end of a worker connection pings the other: four times per
/// `heartbeat_timeout`, so a live peer is heard several times before the timeout.
pub fn ping_interval(heartbeat_timeout: std::time::Duration) -> std::time::Duration {
    (heartbeat_timeout / 4).max(std::time::Duration::from_millis(1))
}
