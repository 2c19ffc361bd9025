//! Reading a frame: the envelope's fields are read once, then the payload straight into the type
//! its `event` names. (serde's derive for a flattened, adjacently tagged enum buffers the whole
//! frame into an intermediate tree first; on the slice path that cost more than the socket.)
//! A refused frame is read a second time, tracking where it went wrong, so the error names the
//! field (`payload.slice_id`); the frames that are accepted pay nothing for that.
use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{Envelope, Message};

#[derive(Deserialize)]
struct Wire<'a> {
    id: u64,
    #[serde(default)]
    reply_to: Option<u64>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Hello {
    worker_id: String,
    ex_id: String,
}

#[derive(Deserialize)]
struct Failed {
    worker_id: String,
    ex_id: String,
    error: String,
}

#[derive(Deserialize)]
struct SliceId {
    slice_id: String,
}

#[derive(Deserialize)]
struct Recorded {
    slice_id: String,
    #[serde(default)]
    next: Option<crate::ops::Slice>,
}

#[derive(Deserialize)]
struct Level {
    level: String,
}

#[derive(Deserialize)]
struct ErrorText {
    message: String,
}

/// Why a frame was refused: the field at fault (`(frame)` for the frame as a whole, e.g. text
/// that is not JSON, whose message then gives the position) and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub path: String,
    pub message: String,
}

impl FrameError {
    const WHOLE: &'static str = "(frame)";

    fn new(path: impl Into<String>, message: impl fmt::Display) -> Self {
        FrameError {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// `serde_path_to_error`'s path under `prefix` (its root `.` is the prefix itself).
    fn at<E: fmt::Display>(prefix: &str, e: serde_path_to_error::Error<E>) -> Self {
        let inner = e.path().to_string();
        let path = match (prefix, inner.as_str()) {
            (p, ".") => p.to_string(),
            ("", i) => i.to_string(),
            (p, i) => format!("{p}.{i}"),
        };
        Self::new(path, e.into_inner())
    }
}

/// `id` of serde's "missing field `id`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field.to_string())
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FrameError {}

fn payload<T: DeserializeOwned>(event: &str, raw: Option<&RawValue>) -> Result<T, FrameError> {
    let raw =
        raw.ok_or_else(|| FrameError::new("payload", format!("`{event}` needs a payload")))?;
    serde_json::from_str(raw.get()).map_err(|first| {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => FrameError::at("payload", e),
            Ok(_) => FrameError::new("payload", first),
        }
    })
}

impl Message {
    /// The message of `event` with its `payload` (absent for events that carry none).
    pub fn from_parts(event: &str, raw: Option<&RawValue>) -> Result<Message, FrameError> {
        Ok(match event {
            "worker:hello" => {
                let p: Hello = payload(event, raw)?;
                Message::Hello {
                    worker_id: p.worker_id,
                    ex_id: p.ex_id,
                }
            }
            "worker:welcome" => Message::Welcome,
            "worker:failed" => {
                let p: Failed = payload(event, raw)?;
                Message::Failed {
                    worker_id: p.worker_id,
                    ex_id: p.ex_id,
                    error: p.error,
                }
            }
            "client:available" => Message::Available,
            "execution:slice:new" => Message::SliceNew(payload(event, raw)?),
            "worker:slice:refused" => {
                let p: SliceId = payload(event, raw)?;
                Message::SliceRefused {
                    slice_id: p.slice_id,
                }
            }
            "worker:slice:complete" => Message::SliceComplete(payload(event, raw)?),
            "slice:recorded" => {
                let p: Recorded = payload(event, raw)?;
                Message::SliceRecorded {
                    slice_id: p.slice_id,
                    next: p.next,
                }
            }
            "shutdown" => Message::Shutdown,
            "execution:log_level" => {
                let p: Level = payload(event, raw)?;
                Message::LogLevel { level: p.level }
            }
            "client:shutdown" => Message::ClientShutdown,
            "error" => {
                let p: ErrorText = payload(event, raw)?;
                Message::Error { message: p.message }
            }
            other => return Err(FrameError::new("event", format!("unknown event `{other}`"))),
        })
    }
}

impl Envelope {
    /// Reads one frame; a refusal names the field at fault.
    pub fn decode(text: &str) -> Result<Envelope, FrameError> {
        serde_json::from_str(text).map_err(|first| Self::explain(text, first))
    }

    /// The frame again, slowly, to find which field `first` (the fast read's error) was about.
    fn explain(text: &str, first: serde_json::Error) -> FrameError {
        if first.is_syntax() || first.is_eof() {
            return FrameError::new(FrameError::WHOLE, first);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, Wire>(&mut de) {
            Err(e) => match FrameError::at("", e) {
                // serde reports a missing field at the object holding it, naming it in the text.
                e if e.path.is_empty() => match missing_field(&e.message) {
                    Some(field) => FrameError::new(field, e.message),
                    None => FrameError::new(FrameError::WHOLE, e.message),
                },
                e => e,
            },
            Ok(wire) => match Message::from_parts(&wire.event, wire.payload.as_deref()) {
                Err(e) => e,
                Ok(_) => FrameError::new(FrameError::WHOLE, first),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        let message =
            Message::from_parts(&wire.event, wire.payload.as_deref()).map_err(D::Error::custom)?;
        Ok(Envelope {
            id: wire.id,
            reply_to: wire.reply_to,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Slice;
    use crate::protocol::SliceReport;
    use serde_json::json;

    /// Every message survives a write and a read, so the event names here and in the enum agree.
    #[test]
    fn every_message_reads_back_as_written() -> Result<(), serde_json::Error> {
        let slice = Slice::new(0, 1, json!({"count": 1}));
        let messages = [
            Message::Hello {
                worker_id: "w".into(),
                ex_id: "ex".into(),
            },
            Message::Welcome,
            Message::Available,
            Message::SliceNew(slice.clone()),
            Message::SliceRefused {
                slice_id: "s".into(),
            },
            Message::SliceComplete(SliceReport {
                slice_id: "s".into(),
                analytics: None,
                error: Some("boom".into()),
                retry_count: 2,
            }),
            Message::SliceRecorded {
                slice_id: "s".into(),
                next: Some(slice),
            },
            Message::SliceRecorded {
                slice_id: "s".into(),
                next: None,
            },
            Message::Shutdown,
            Message::LogLevel {
                level: "debug".into(),
            },
            Message::ClientShutdown,
            Message::Error {
                message: "no".into(),
            },
        ];
        for (i, message) in messages.into_iter().enumerate() {
            let env = Envelope {
                id: i as u64,
                reply_to: Some(9),
                message,
            };
            let text = serde_json::to_string(&env)?;
            let back: Envelope = serde_json::from_str(&text)?;
            assert_eq!(back, env, "{text}");
        }
        Ok(())
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        let unknown = serde_json::from_str::<Envelope>(r#"{"id":1,"event":"nope"}"#);
        assert!(unknown.is_err_and(|e| e.to_string().contains("unknown event `nope`")));
        let missing = serde_json::from_str::<Envelope>(r#"{"id":1,"event":"execution:slice:new"}"#);
        assert!(missing.is_err_and(|e| e.to_string().contains("needs a payload")));
    }

    /// A refused frame names the field at fault, also inside the payload.
    #[test]
    fn a_refused_frame_names_the_field() {
        let cases = [
            (r#"{"id":"x","event":"shutdown"}"#, "id"),
            (r#"{"event":"shutdown"}"#, "id"),
            (r#"{"id":1,"event":7}"#, "event"),
            (r#"{"id":1,"event":"nope"}"#, "event"),
            (
                r#"{"id":1,"event":"worker:slice:refused","payload":{"slice_id":5}}"#,
                "payload.slice_id",
            ),
            (
                r#"{"id":1,"event":"worker:slice:complete","payload":{"slice_id":"s","retry_count":-1}}"#,
                "payload.retry_count",
            ),
            (r#"{"id":1,"event":"execution:slice:new"}"#, "payload"),
            (r#"{"id":1,"#, "(frame)"),
        ];
        for (text, path) in cases {
            match Envelope::decode(text) {
                Err(e) => assert_eq!(e.path, path, "{text}: {e}"),
                Ok(env) => panic!("{text} was accepted: {env:?}"),
            }
        }
    }
}
