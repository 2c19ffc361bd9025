//! Message types. Each frame is one [`Envelope`]: `{"id", "reply_to"?, "event", "payload"?}`.
use serde::{Deserialize, Serialize};

use crate::ops::Slice;

/// Read by `protocol::decode` (the event picks the payload type, without buffering the frame).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// Unique per sender and connection.
    pub id: u64,
    /// Set on replies: the `id` of the request being answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "payload")]
pub enum Message {
    /// W→EC, first frame; answered with `Welcome` or `Error`.
    #[serde(rename = "worker:hello")]
    Hello { worker_id: String, ex_id: String },
    #[serde(rename = "worker:welcome")]
    Welcome,
    /// W→EC notice, the only frame of its connection (instead of `worker:hello`): the worker
    /// could not build or initialise its operations and is exiting. The EC keeps the error
    /// for the execution's failure reason.
    #[serde(rename = "worker:failed")]
    Failed {
        worker_id: String,
        ex_id: String,
        error: String,
    },
    /// W→EC: idle and asking for one slice (the only way a worker gets work).
    #[serde(rename = "client:available")]
    Available,
    /// EC→W notice: run this slice. Sent only to a worker the EC counts as idle; the worker
    /// answers nothing (its report is the answer), or `worker:slice:refused` if it cannot.
    #[serde(rename = "execution:slice:new")]
    SliceNew(Slice),
    /// W→EC notice: the worker will not run this slice (busy, or leaving); the EC re-queues it.
    #[serde(rename = "worker:slice:refused")]
    SliceRefused { slice_id: String },
    /// W→EC request; answered with `SliceRecorded`. Re-sent after a reconnect until answered.
    /// Also means "and I am idle".
    #[serde(rename = "worker:slice:complete")]
    SliceComplete(SliceReport),
    /// The report is recorded; `next` is the worker's next slice when one was waiting (so a
    /// busy execution costs one round trip per slice).
    #[serde(rename = "slice:recorded")]
    SliceRecorded {
        slice_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<Slice>,
    },
    /// EC→W: finish the current slice (if any), then exit.
    #[serde(rename = "shutdown")]
    Shutdown,
    /// EC→W notice: set the process's log level (`POST /jobs/:id/_settings?log_level=`).
    #[serde(rename = "execution:log_level")]
    LogLevel { level: String },
    /// W→EC: the worker is leaving on purpose.
    #[serde(rename = "client:shutdown")]
    ClientShutdown,
    /// A reply when a request could not be handled.
    #[serde(rename = "error")]
    Error { message: String },
}

impl Message {
    /// The event name, for logs and errors.
    pub fn event(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "worker:hello",
            Message::Welcome => "worker:welcome",
            Message::Failed { .. } => "worker:failed",
            Message::Available => "client:available",
            Message::SliceNew(_) => "execution:slice:new",
            Message::SliceRefused { .. } => "worker:slice:refused",
            Message::SliceComplete(_) => "worker:slice:complete",
            Message::SliceRecorded { .. } => "slice:recorded",
            Message::Shutdown => "shutdown",
            Message::LogLevel { .. } => "execution:log_level",
            Message::ClientShutdown => "client:shutdown",
            Message::Error { .. } => "error",
        }
    }
}

/// `worker:slice:complete` payload: `{slice_id, analytics?, error?, retry_count}`. The EC has
/// the slice itself (Teraslice sent the whole slice back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceReport {
    pub slice_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics: Option<SliceAnalytics>,
    /// Set when the slice failed for good: the last attempt's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failed attempts before the last one.
    #[serde(default)]
    pub retry_count: u32,
}

/// Per-op numbers of one slice, index 0 = the fetcher (Teraslice's `{time, size, memory}`).
/// `-1` = the op did not run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SliceAnalytics {
    /// Milliseconds.
    pub time: Vec<i64>,
    /// Records returned by the op.
    pub size: Vec<i64>,
    /// Bytes; always 0 here (a Rust process has no per-op heap measure).
    pub memory: Vec<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_is_event_and_payload() -> Result<(), serde_json::Error> {
        let env = Envelope {
            id: 7,
            reply_to: Some(3),
            message: Message::SliceRecorded {
                slice_id: "s1".into(),
                next: None,
            },
        };
        let v = serde_json::to_value(&env)?;
        assert_eq!(
            v,
            json!({"id": 7, "reply_to": 3, "event": "slice:recorded", "payload": {"slice_id": "s1"}})
        );
        let back: Envelope = serde_json::from_str(&v.to_string())?;
        assert_eq!(back, env);
        let avail: Envelope =
            serde_json::from_value(json!({"id": 1, "event": "client:available"}))?;
        assert_eq!(avail.message, Message::Available);
        Ok(())
    }
}
