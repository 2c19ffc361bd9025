//! The EC⇄worker protocol: JSON messages in an envelope with request ids, sent as WebSocket
//! text frames (see docs/runtime.md for the message table).
mod messages;
mod peer;

pub use messages::{Envelope, Message, SliceAnalytics, SliceReport};
pub use peer::Peer;

/// Path of the worker WebSocket on the EC's HTTP port.
pub const WORKER_WS_PATH: &str = "/api/v1/ws";
