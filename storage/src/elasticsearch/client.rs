//! A small HTTP client for the few Elasticsearch/OpenSearch endpoints the store uses: node
//! rotation, bounded retries of connection errors, 429 and 5xx, and headers chosen from the
//! server's `GET /` answer.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::config::{Auth, ConnectionConfig};
use super::error::EsError;
use super::server::ServerInfo;

/// First pause between retries; doubled each time up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// What a request carries.
pub(crate) enum Body<'a> {
    None,
    Json(&'a Value),
    /// `_bulk` lines, each ending in `\n`.
    NdJson(String),
}

/// A server answer: its status and JSON body (`Null` when empty).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// Tries it took; above 1, an earlier try may have done the work before failing to answer.
    pub attempts: u32,
}

impl Answer {
    /// The `error.type` of an error answer, e.g. `index_not_found_exception`.
    pub fn error_type(&self) -> &str {
        self.body
            .pointer("/error/type")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn error_reason(&self) -> String {
        match self.body.pointer("/error/reason").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => self.body.to_string(),
        }
    }
}

pub(crate) struct EsClient {
    http: reqwest::Client,
    nodes: Vec<Url>,
    next_node: AtomicUsize,
    auth: Option<Auth>,
    max_retries: u32,
    json_type: HeaderValue,
    ndjson_type: HeaderValue,
}

impl EsClient {
    pub fn new(config: &ConnectionConfig) -> Result<Self, String> {
        if config.nodes.is_empty() {
            return Err(format!("{}.node lists no node", config.source));
        }
        if let Some(Auth::ApiKey(key)) = &config.auth {
            if HeaderValue::from_str(&format!("ApiKey {key}")).is_err() {
                return Err(format!(
                    "{}.apiKey has characters an HTTP header cannot carry; use the base64 value the server issued",
                    config.source
                ));
            }
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)));
        if let Some(pem) = &config.ca_certificate {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                format!(
                    "{}.caCertificate is not a PEM certificate bundle: {e}",
                    config.source
                )
            })?;
            if certs.is_empty() {
                return Err(format!(
                    "{}.caCertificate holds no certificate; give one or more PEM blocks (-----BEGIN CERTIFICATE-----)",
                    config.source
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if !config.reject_unauthorized {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client for {}: {e}", config.source))?;
        Ok(EsClient {
            http,
            nodes: config.nodes.clone(),
            next_node: AtomicUsize::new(0),
            auth: config.auth.clone(),
            max_retries: config.max_retries,
            json_type: HeaderValue::from_static("application/json"),
            ndjson_type: HeaderValue::from_static("application/x-ndjson"),
        })
    }

    /// Picks the media types the server wants: Elasticsearch 8+ gets the version-8 compatibility
    /// media type (so a newer server keeps answering the 8.x way); Elasticsearch 7 and OpenSearch,
    /// which refuse `application/vnd.elasticsearch+json`, get plain JSON.
    pub fn adapt_to(&mut self, server: &ServerInfo) {
        if server.wants_compat_8_headers() {
            self.json_type =
                HeaderValue::from_static("application/vnd.elasticsearch+json; compatible-with=8");
            self.ndjson_type = HeaderValue::from_static(
                "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
            );
        }
    }

    pub fn nodes(&self) -> &[Url] {
        &self.nodes
    }

    /// One try against one node, no retries: opening the store runs its own retry loop.
    pub async fn try_once(&self, method: Method, path: &[&str]) -> Result<Answer, EsError> {
        let node = self.pick_node();
        self.send(&node, method, path, &[], &Body::None)
            .await
            .map_err(|source| EsError::Transport {
                node: node.to_string(),
                source,
            })
    }

    /// Sends a request, retrying connection errors, 429 and 5xx up to `maxRetries` times with
    /// backoff and on the next node. Other answers (4xx included) are returned as they are.
    pub async fn request(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Body<'_>,
        what: &str,
    ) -> Result<Answer, EsError> {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let node = self.pick_node();
            let failure = match self.send(&node, method.clone(), path, query, &body).await {
                Ok(mut answer) if !is_transient(answer.status) => {
                    answer.attempts = attempt;
                    return Ok(answer);
                }
                Ok(answer) => format!("{} {}", answer.status, answer.error_reason()),
                Err(e) => describe_reqwest_error(&e),
            };
            if attempt > self.max_retries {
                return Err(EsError::GaveUp {
                    what: what.to_string(),
                    node: node.to_string(),
                    attempts: attempt,
                    last: failure,
                });
            }
            tracing::warn!(%node, what, attempt, error = %failure, retry_in_ms = delay.as_millis() as u64,
                "state store request failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }

    fn pick_node(&self) -> Url {
        let i = self.next_node.fetch_add(1, Ordering::Relaxed);
        // `nodes` is never empty: the config refuses an empty list.
        self.nodes[i % self.nodes.len()].clone()
    }

    async fn send(
        &self,
        node: &Url,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: &Body<'_>,
    ) -> Result<Answer, reqwest::Error> {
        let mut url = node.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, self.json_type.clone());
        let mut request = self.http.request(method, url);
        match body {
            Body::None => {}
            Body::Json(v) => {
                headers.insert(CONTENT_TYPE, self.json_type.clone());
                request = request.body(v.to_string());
            }
            Body::NdJson(lines) => {
                headers.insert(CONTENT_TYPE, self.ndjson_type.clone());
                request = request.body(lines.clone());
            }
        }
        request = match &self.auth {
            Some(Auth::Basic { username, password }) => {
                request.basic_auth(username, Some(password))
            }
            Some(Auth::ApiKey(key)) => match HeaderValue::from_str(&format!("ApiKey {key}")) {
                Ok(v) => {
                    headers.insert(AUTHORIZATION, v);
                    request
                }
                Err(_) => request,
            },
            None => request,
        };
        let response = request.headers(headers).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            // A proxy's HTML error page is kept as text so the message can show it.
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Answer {
            status,
            body,
            attempts: 1,
        })
    }
}

/// Worth another try: overloaded (429) or a server-side/gateway failure (5xx).
fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// reqwest's top-level message hides the cause ("error sending request"); show the chain.
pub(crate) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
