//! Request bodies (JSON whatever the Content-Type, with a size limit) and responses (JSON
//! pretty-printed with 4 spaces, as Teraslice's Express app sends them).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::error::ApiError;
use crate::master::MasterServices;

/// Bodies above this are refused with 413 unless `teraslice.api_payload_limit` says otherwise.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// `teraslice.api_payload_limit`: bytes, or a size string like `"512kb"` / `"10mb"`.
pub fn payload_limit(services: &MasterServices) -> usize {
    match services.config.teraslice.extra.get("api_payload_limit") {
        Some(Value::Number(n)) => n.as_u64().map_or(DEFAULT_PAYLOAD_LIMIT, |n| n as usize),
        Some(Value::String(s)) => parse_size(s).unwrap_or_else(|| {
            tracing::warn!(value = %s, "teraslice.api_payload_limit must be bytes or a size like \"10mb\"; using 1mb");
            DEFAULT_PAYLOAD_LIMIT
        }),
        _ => DEFAULT_PAYLOAD_LIMIT,
    }
}

fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    let n: usize = digits.trim().parse().ok()?;
    let mult = match unit {
        "" | "b" => 1,
        "kb" => 1024,
        "mb" => 1024 * 1024,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A JSON request body; an empty body reads as `null`.
pub struct JsonBody(pub Value);

impl FromRequest<Arc<MasterServices>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<MasterServices>) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge {
                    limit: payload_limit(state),
                }
            } else {
                ApiError::Body(r.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))
    }
}

/// `value` as 4-space-indented JSON.
pub fn pretty_json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    if let Err(e) = value.serialize(&mut ser) {
        let msg = format!("{{\"error\": 500, \"message\": \"cannot serialize response: {e}\"}}");
        return (StatusCode::INTERNAL_SERVER_ERROR, msg).into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        out,
    )
        .into_response()
}

/// 200 with `value` as JSON.
pub fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    pretty_json(StatusCode::OK, value)
}

/// 200 with a text table.
pub fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(super::parse_size("512kb"), Some(512 * 1024));
        assert_eq!(super::parse_size("10mb"), Some(10 * 1024 * 1024));
        assert_eq!(super::parse_size("2000"), Some(2000));
        assert_eq!(super::parse_size("ten"), None);
    }
}
