//! A minimal Elasticsearch/OpenSearch HTTP client for the ops: node rotation, retries of
//! connection errors, 429 and 5xx, and media types chosen from the server's `GET /` answer
//! (Elasticsearch 8+ gets the 8-compat type; 7 and OpenSearch get plain JSON).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::connection::{Auth, Connection};
use super::error::EsError;

const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

pub struct EsClient {
    http: reqwest::Client,
    conn: Connection,
    next_node: AtomicUsize,
    /// (json, ndjson) media types, set after the first `GET /`.
    media: OnceCell<(&'static str, &'static str)>,
}

/// A server answer: status and JSON body (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    fn error_kind(&self) -> String {
        let kind = self.body.pointer("/error/type").and_then(Value::as_str);
        kind.unwrap_or("error").to_string()
    }
    fn error_reason(&self) -> String {
        match self.body.pointer("/error/reason").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => self.body.to_string(),
        }
    }
    /// The body of a 2xx answer, else a [`EsError::Status`].
    pub fn ok(self, what: &str) -> Result<Value, EsError> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        Err(EsError::Status {
            what: what.to_string(),
            status: self.status.as_u16(),
            kind: self.error_kind(),
            reason: self.error_reason(),
        })
    }
}

pub enum Body {
    None,
    Json(Value),
    /// `_bulk` lines, each ending in `\n`.
    NdJson(String),
}

impl EsClient {
    pub fn new(conn: Connection) -> Result<Self, EsError> {
        let mut builder = reqwest::Client::builder()
            .timeout(conn.request_timeout)
            .connect_timeout(conn.request_timeout.min(Duration::from_secs(10)));
        if let Some(pem) = &conn.ca_certificate {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                EsError::Config(format!(
                    "{}.caCertificate is not a PEM bundle: {e}",
                    conn.source
                ))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if !conn.reject_unauthorized {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| EsError::Config(format!("HTTP client for {}: {e}", conn.source)))?;
        Ok(EsClient {
            http,
            conn,
            next_node: AtomicUsize::new(0),
            media: OnceCell::new(),
        })
    }

    async fn media(&self) -> Result<(&'static str, &'static str), EsError> {
        self.media
            .get_or_try_init(|| async {
                let root = self
                    .request_with(
                        Method::GET,
                        "",
                        Body::None,
                        "GET /",
                        ("application/json", ""),
                    )
                    .await?
                    .ok("GET /")?;
                let opensearch = root
                    .pointer("/version/distribution")
                    .and_then(Value::as_str)
                    == Some("opensearch");
                let major: u32 = root
                    .pointer("/version/number")
                    .and_then(Value::as_str)
                    .and_then(|v| v.split('.').next())
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(0);
                tracing::debug!(source = %self.conn.source, opensearch, major, "connected");
                Ok(if !opensearch && major >= 8 {
                    (
                        "application/vnd.elasticsearch+json; compatible-with=8",
                        "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
                    )
                } else {
                    ("application/json", "application/x-ndjson")
                })
            })
            .await
            .copied()
    }

    /// Sends `method path` (path with its query string, e.g. `idx/_search`), retrying connection
    /// errors, 429 and 5xx up to the connector's `maxRetries`; other answers are returned.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Body,
        what: &str,
    ) -> Result<Answer, EsError> {
        let media = self.media().await?;
        self.request_with(method, path, body, what, media).await
    }

    async fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Body,
        what: &str,
        media: (&'static str, &'static str),
    ) -> Result<Answer, EsError> {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let node = self.pick_node();
            let failure = match self.send(&node, method.clone(), path, &body, media).await {
                Ok(a) if !is_transient(a.status) => return Ok(a),
                Ok(a) => format!("{} {}", a.status, a.error_reason()),
                Err(e) => describe(&e),
            };
            if attempt > self.conn.max_retries {
                return Err(EsError::GaveUp {
                    what: what.to_string(),
                    node: node.to_string(),
                    attempts: attempt,
                    last: failure,
                });
            }
            tracing::warn!(%node, what, attempt, error = %failure, "elasticsearch request failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }

    fn pick_node(&self) -> Url {
        let i = self.next_node.fetch_add(1, Ordering::Relaxed);
        // `nodes` is never empty: the connection parser refuses an empty list.
        self.conn.nodes[i % self.conn.nodes.len()].clone()
    }

    async fn send(
        &self,
        node: &Url,
        method: Method,
        path: &str,
        body: &Body,
        (json_type, ndjson_type): (&'static str, &'static str),
    ) -> Result<Answer, reqwest::Error> {
        let base = node.as_str().trim_end_matches('/');
        let mut req = self
            .http
            .request(method, format!("{base}/{path}"))
            .header(ACCEPT, HeaderValue::from_static(json_type));
        req = match body {
            Body::None => req,
            Body::Json(v) => req.header(CONTENT_TYPE, json_type).body(v.to_string()),
            Body::NdJson(lines) => req.header(CONTENT_TYPE, ndjson_type).body(lines.clone()),
        };
        req = match &self.conn.auth {
            Some(Auth::Basic { username, password }) => req.basic_auth(username, Some(password)),
            Some(Auth::ApiKey(key)) => req.header("authorization", format!("ApiKey {key}")),
            None => req,
        };
        let response = req.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Answer { status, body })
    }

    /// Documents matching `query` in `index`.
    pub async fn count(&self, index: &str, query: Value) -> Result<u64, EsError> {
        let what = format!("count in {index}");
        let body = self
            .request(
                Method::POST,
                &format!("{index}/_count"),
                Body::Json(json!({ "query": query })),
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
            .request(
                Method::POST,
                &format!("{index}/_search"),
                Body::Json(body),
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
        let path = format!("{index}/_settings?include_defaults=true&flat_settings=true");
        let body = self
            .request(Method::GET, &path, Body::None, &what)
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
        let a = self.request(Method::HEAD, index, Body::None, &what).await?;
        match a.status.as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => a.ok(&what).map(|_| false),
        }
    }

    /// Sends `_bulk` lines; the answer body.
    pub async fn bulk(&self, lines: String) -> Result<Value, EsError> {
        self.request(Method::POST, "_bulk", Body::NdJson(lines), "bulk request")
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

fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// reqwest's message hides the cause ("error sending request"); show the chain.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
