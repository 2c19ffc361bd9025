//! Reading a frame: the envelope's fields are read once, then the payload straight into the type
//! its `event` names. (serde's derive for a flattened, adjacently tagged enum buffers the whole
//! frame into an intermediate tree first; on the slice path that cost more than the socket.)
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

fn payload<T: DeserializeOwned>(
    event: &str,
    raw: Option<&RawValue>,
) -> Result<T, serde_json::Error> {
    let raw = raw.ok_or_else(|| serde_json::Error::custom(format!("`{event}` needs a payload")))?;
    serde_json::from_str(raw.get())
}

impl Message {
    /// The message of `event` with its `payload` (absent for events that carry none).
    pub fn from_parts(event: &str, raw: Option<&RawValue>) -> Result<Message, serde_json::Error> {
        Ok(match event {
            "worker:hello" => {
                let p: Hello = payload(event, raw)?;
                Message::Hello {
                    worker_id: p.worker_id,
                    ex_id: p.ex_id,
                }
            }
            "worker:welcome" => Message::Welcome,
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
            other => {
                return Err(serde_json::Error::custom(format!(
                    "unknown event `{other}`"
                )))
            }
        })
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
}
