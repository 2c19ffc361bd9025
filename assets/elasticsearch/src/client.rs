//! The ops' side of teraslice-es's client: media types from a lazy first `GET /`, the ops'
//! backoff, their errors, and the few endpoints they call (count, search, settings, bulk).
use std::time::Duration;

use serde_json::{json, Value};
use teraslice_es::{Answer, Backoff, Body, ConnectionConfig, Method, ServerInfo};
use tokio::sync::OnceCell;

use super::error::EsError;

/// Retries of one request: 0.25 s doubling, at most 10 s (plus jitter).
const BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(250),
    max: Duration::from_secs(10),
    user: "elasticsearch",
};

pub struct EsClient {
    http: teraslice_es::EsClient<EsError>,
    /// The connector's full key, for messages.
    source: String,
    /// Done once the first `GET /` chose the media types.
    detected: OnceCell<()>,
}

/// The body of a 2xx answer, else an [`EsError::Status`].
trait Success {
    fn ok(self, what: &str) -> Result<Value, EsError>;
}

impl Success for Answer {
    fn ok(self, what: &str) -> Result<Value, EsError> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let kind = match self.error_type() {
            "" => "error",
            kind => kind,
        };
        Err(EsError::Status {
            what: what.to_string(),
            status: self.status.as_u16(),
            kind: kind.to_string(),
            reason: self.error_reason(),
        })
    }
}

impl EsClient {
    pub fn new(conn: ConnectionConfig) -> Result<Self, EsError> {
        let http = teraslice_es::EsClient::new(&conn, BACKOFF)
            .map_err(|e| EsError::Config(e.to_string()))?;
        Ok(EsClient {
            http,
            source: conn.source,
            detected: OnceCell::new(),
        })
    }

    /// The client, once a first `GET /` chose its media types: Elasticsearch 8+ gets the 8-compat
    /// ones; 7, OpenSearch and anything `GET /` does not identify get plain JSON. Requests are
    /// retried (connection errors, 429 and 5xx) up to the connector's `maxRetries`.
    async fn ready(&self) -> Result<&teraslice_es::EsClient<EsError>, EsError> {
        self.detected
            .get_or_try_init(|| async {
                let root = self
                    .http
                    .request(Method::GET, &[], &[], Body::None, "GET /")
                    .await?
                    .ok("GET /")?;
                match ServerInfo::from_root_answer(&root) {
                    Ok(server) => {
                        tracing::debug!(source = %self.source, %server, "connected");
                        self.http.adapt_to(&server);
                    }
                    Err(problem) => {
                        tracing::debug!(source = %self.source, %problem, "connected to an unknown server")
                    }
                }
                Ok::<(), EsError>(())
            })
            .await?;
        Ok(&self.http)
    }

    /// Documents matching `query` in `index`.
    pub async fn count(&self, index: &str, query: Value) -> Result<u64, EsError> {
        let what = format!("count in {index}");
        let body = self
            .ready()
            .await?
            .request(
                Method::POST,
                &[index, "_count"],
                &[],
                Body::Json(&json!({ "query": query })),
                &what,
            )
            .await?
            .ok(&what)?;
        check_shards(&body, &what)?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| EsError::Shape {
                what,
                body: body.to_string(),
            })
    }

    /// A search; shard failures are errors (rejections are retried by the caller's slice retry).
    pub async fn search(&self, index: &str, body: Value) -> Result<Value, EsError> {
        let what = format!("search in {index}");
        let answer = self
            .ready()
            .await?
            .request(
                Method::POST,
                &[index, "_search"],
                &[],
                Body::Json(&body),
                &what,
            )
            .await?
            .ok(&what)?;
        check_shards(&answer, &what)?;
        Ok(answer)
    }

    /// `index.max_result_window` of the indices `index` matches (the smallest), default 10000.
    pub async fn max_result_window(&self, index: &str) -> Result<u64, EsError> {
        let what = format!("settings of {index}");
        let query = [
            ("include_defaults", "true".to_string()),
            ("flat_settings", "true".to_string()),
        ];
        let body = self
            .ready()
            .await?
            .request(
                Method::GET,
                &[index, "_settings"],
                &query,
                Body::None,
                &what,
            )
            .await?
            .ok(&what)?;
        let mut window: Option<u64> = None;
        for settings in body.as_object().into_iter().flat_map(|m| m.values()) {
            let v = ["settings", "defaults"].iter().find_map(|k| {
                let s = settings.get(*k)?.get("index.max_result_window")?;
                s.as_u64().or_else(|| s.as_str()?.parse().ok())
            });
            if let Some(v) = v {
                window = Some(window.map_or(v, |w| w.min(v)));
            }
        }
        Ok(window.unwrap_or(10_000))
    }

    /// Whether `index` (a name or alias) exists.
    pub async fn index_exists(&self, index: &str) -> Result<bool, EsError> {
        let what = format!("HEAD {index}");
        let a = self
            .ready()
            .await?
            .request(Method::HEAD, &[index], &[], Body::None, &what)
            .await?;
        match a.status.as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => a.ok(&what).map(|_| false),
        }
    }

    /// Sends `_bulk` lines; the answer body.
    pub async fn bulk(&self, lines: String) -> Result<Value, EsError> {
        self.ready()
            .await?
            .request(
                Method::POST,
                &["_bulk"],
                &[],
                Body::NdJson(lines),
                "bulk request",
            )
            .await?
            .ok("bulk request")
    }
}

/// Rejections and retryable circuit breakers: the request may be sent again later.
pub fn is_retryable_kind(kind: &str, reason: &str) -> bool {
    matches!(
        kind,
        "es_rejected_execution_exception" | "rejected_execution_exception"
    ) || (kind == "circuit_breaking_exception"
        && (reason.contains("[parent]") || reason.contains("[in_flight_requests]")))
}

/// "Not all shards returned successful" unless every failure is retryable (then a retryable error).
fn check_shards(body: &Value, what: &str) -> Result<(), EsError> {
    let failed = body
        .pointer("/_shards/failed")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if failed == 0 {
        return Ok(());
    }
    let failures = body.pointer("/_shards/failures").and_then(Value::as_array);
    let all_retryable = failures.is_some_and(|f| {
        f.iter().all(|x| {
            let kind = x
                .pointer("/reason/type")
                .and_then(Value::as_str)
                .unwrap_or("");
            let reason = x
                .pointer("/reason/reason")
                .and_then(Value::as_str)
                .unwrap_or("");
            is_retryable_kind(kind, reason)
        })
    });
    let status = if all_retryable { 429 } else { 500 };
    Err(EsError::Status {
        what: what.to_string(),
        status,
        kind: "shard_failure".into(),
        reason: format!(
            "Not all shards returned successful: {}",
            body.pointer("/_shards").cloned().unwrap_or_default()
        ),
    })
}
