//! A small HTTP client for the few Elasticsearch/OpenSearch endpoints the store and the ops use:
//! node rotation, bounded retries of connection errors, 429 and 5xx, and media types chosen from
//! the server's `GET /` answer (plain JSON until then).
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::connector::{Auth, ConnectionConfig};
use crate::server::ServerInfo;

/// How a client waits between retries, and who it says is retrying in its warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause; doubled after each retry up to `max`, each pause plus a random part of
    /// up to as much again (jitter: clients that failed together do not retry in step).
    pub first: Duration,
    pub max: Duration,
    /// Starts the retry warning, e.g. "state store" → "state store request failed; retrying".
    pub user: &'static str,
}

impl Backoff {
    /// The pauses between tries, without end.
    pub fn delays(&self) -> backon::ExponentialBackoff {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(self.max)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// What a request carries.
pub enum Body<'a> {
    None,
    Json(&'a Value),
    /// `_bulk` lines, each ending in `\n`.
    NdJson(String),
}

/// A server answer: its status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// Tries it took; above 1, an earlier try may have done the work before failing to answer.
    pub attempts: u32,
}

impl Answer {
    /// The `error.type` of an error answer, e.g. `index_not_found_exception`; `""` when none.
    pub fn error_type(&self) -> &str {
        self.body
            .pointer("/error/type")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `error.reason` of an error answer, else the whole body.
    pub fn error_reason(&self) -> String {
        match self.body.pointer("/error/reason").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => self.body.to_string(),
        }
    }
}

/// The `Accept` / `Content-Type` values one server kind wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTypes {
    pub json: &'static str,
    pub ndjson: &'static str,
}

impl MediaTypes {
    /// Elasticsearch 7 and OpenSearch, which refuse `application/vnd.elasticsearch+json`.
    pub const PLAIN: MediaTypes = MediaTypes {
        json: "application/json",
        ndjson: "application/x-ndjson",
    };
    /// Elasticsearch 8+: the version-8 compatibility type, so a newer server keeps answering the
    /// 8.x way.
    pub const COMPAT_8: MediaTypes = MediaTypes {
        json: "application/vnd.elasticsearch+json; compatible-with=8",
        ndjson: "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
    };

    pub fn for_server(server: &ServerInfo) -> MediaTypes {
        if server.wants_compat_8_headers() {
            MediaTypes::COMPAT_8
        } else {
            MediaTypes::PLAIN
        }
    }
}

/// Why a client cannot be built from a connector.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{source_key}.node lists no node")]
    NoNode { source_key: String },
    #[error("{source_key}.apiKey has characters an HTTP header cannot carry; use the base64 value the server issued")]
    ApiKeyNotAHeader { source_key: String },
    #[error("{source_key}.caCertificate is not a PEM certificate bundle: {source}")]
    CaNotPem {
        source_key: String,
        source: reqwest::Error,
    },
    #[error("{source_key}.caCertificate holds no certificate; give one or more PEM blocks (-----BEGIN CERTIFICATE-----)")]
    CaEmpty { source_key: String },
    #[error("cannot build the HTTP client for {source_key}: {source}")]
    Build {
        source_key: String,
        source: reqwest::Error,
    },
}

/// A request that did not get a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// One try ([`EsClient::try_once`]) that did not reach the server.
    #[error("cannot reach {node}: {}", describe_reqwest_error(.source))]
    Transport {
        node: String,
        #[source]
        source: reqwest::Error,
    },
    /// Still a connection error, 429 or 5xx after the connector's `maxRetries`.
    #[error("{what}: still failing after {attempts} attempt(s) (last at {node}): {last}")]
    GaveUp {
        what: String,
        node: String,
        attempts: u32,
        last: String,
    },
}

/// A client whose requests fail with `E`: the caller's own error type, so `?` works where
/// [`RequestError`] could not convert (the store's `StoreError`, the ops' `OpError`).
pub struct EsClient<E = RequestError> {
    http: reqwest::Client,
    nodes: Vec<Url>,
    next_node: AtomicUsize,
    auth: Option<Auth>,
    max_retries: u32,
    backoff: Backoff,
    /// Set once the server is known ([`EsClient::adapt_to`]).
    media: OnceLock<MediaTypes>,
    error: PhantomData<fn() -> E>,
}

impl<E: From<RequestError>> EsClient<E> {
    pub fn new(config: &ConnectionConfig, backoff: Backoff) -> Result<Self, ClientError> {
        let source_key = || config.source.clone();
        if config.nodes.is_empty() {
            return Err(ClientError::NoNode {
                source_key: source_key(),
            });
        }
        if let Some(Auth::ApiKey(key)) = &config.auth {
            if HeaderValue::from_str(&format!("ApiKey {key}")).is_err() {
                return Err(ClientError::ApiKeyNotAHeader {
                    source_key: source_key(),
                });
            }
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)));
        if let Some(pem) = &config.ca_certificate {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|source| {
                    ClientError::CaNotPem {
                        source_key: source_key(),
                        source,
                    }
                })?;
            if certs.is_empty() {
                return Err(ClientError::CaEmpty {
                    source_key: source_key(),
                });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if !config.reject_unauthorized {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|source| ClientError::Build {
            source_key: source_key(),
            source,
        })?;
        Ok(EsClient {
            http,
            nodes: config.nodes.clone(),
            next_node: AtomicUsize::new(0),
            auth: config.auth.clone(),
            max_retries: config.max_retries,
            backoff,
            media: OnceLock::new(),
            error: PhantomData,
        })
    }

    /// Uses the media types `server` wants from now on; the first call wins.
    pub fn adapt_to(&self, server: &ServerInfo) {
        let _ = self.media.set(MediaTypes::for_server(server));
    }

    pub fn nodes(&self) -> &[Url] {
        &self.nodes
    }

    /// One try against one node, no retries, for callers that run their own retry loop.
    pub async fn try_once(&self, method: Method, path: &[&str]) -> Result<Answer, E> {
        let node = self.pick_node();
        self.send(&node, method, path, &[], &Body::None)
            .await
            .map_err(|source| {
                E::from(RequestError::Transport {
                    node: node.to_string(),
                    source,
                })
            })
    }

    /// Sends `method /<path segments>?<query>`, retrying connection errors, 429 and 5xx up to
    /// `maxRetries` times with backoff and on the next node. Other answers (4xx included) are
    /// returned as they are.
    pub async fn request(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Body<'_>,
        what: &str,
    ) -> Result<Answer, E> {
        let mut delays = self.backoff.delays();
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
                return Err(E::from(RequestError::GaveUp {
                    what: what.to_string(),
                    node: node.to_string(),
                    attempts: attempt,
                    last: failure,
                }));
            }
            let delay = delays.next().unwrap_or(self.backoff.max);
            tracing::warn!(%node, what, attempt, error = %failure, retry_in_ms = delay.as_millis() as u64,
                "{} request failed; retrying", self.backoff.user);
            tokio::time::sleep(delay).await;
        }
    }

    fn pick_node(&self) -> Url {
        let i = self.next_node.fetch_add(1, Ordering::Relaxed);
        // `nodes` is never empty: `new` refuses an empty list.
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
        let media = self.media.get().copied().unwrap_or(MediaTypes::PLAIN);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(media.json));
        let mut request = self.http.request(method, url);
        match body {
            Body::None => {}
            Body::Json(v) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(media.json));
                request = request.body(v.to_string());
            }
            Body::NdJson(lines) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(media.ndjson));
                request = request.body(lines.clone());
            }
        }
        request = match &self.auth {
            Some(Auth::Basic { username, password }) => {
                request.basic_auth(username, Some(password))
            }
            // `new` checked that the key is a valid header value.
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
/// Credentials are redacted (node URLs carry none, but a redirect's or proxy's might).
pub fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    teraslice_core::redact::redact(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BACKOFF: Backoff = Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(1),
        user: "test",
    };

    fn config(extra: Value) -> ConnectionConfig {
        let mut c = json!({"node": "localhost:9200"});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        ConnectionConfig::from_connector("connectors.es.default", &c).expect("valid connector")
    }

    #[test]
    fn media_types_per_server_kind() {
        let server = |root: Value| ServerInfo::from_root_answer(&root).expect("server");
        let es8 = server(json!({"version": {"number": "8.15.0"}}));
        let es7 = server(json!({"version": {"number": "7.17.9"}}));
        let os = server(json!({"version": {"distribution": "opensearch", "number": "2.19.6"}}));
        assert_eq!(MediaTypes::for_server(&es8), MediaTypes::COMPAT_8);
        assert_eq!(MediaTypes::for_server(&es7), MediaTypes::PLAIN);
        assert_eq!(MediaTypes::for_server(&os), MediaTypes::PLAIN);
        let client: EsClient = EsClient::new(&config(json!({})), BACKOFF).expect("client");
        assert_eq!(
            client.media.get(),
            None,
            "plain JSON until the server is known"
        );
        client.adapt_to(&es8);
        client.adapt_to(&os);
        assert_eq!(
            client.media.get(),
            Some(&MediaTypes::COMPAT_8),
            "first wins"
        );
    }

    #[test]
    fn unusable_settings_name_the_connector_key() {
        let new = |c: &ConnectionConfig| EsClient::<RequestError>::new(c, BACKOFF).err();
        let e = new(&config(json!({"apiKey": "bad\nkey"})));
        assert!(
            e.is_some_and(|e| e.to_string().starts_with("connectors.es.default.apiKey")),
            "api key with a newline"
        );
        let e = new(&config(json!({"caCertificate": "no pem here"})))
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("connectors.es.default.caCertificate"), "{e}");
        let mut empty = config(json!({}));
        empty.nodes.clear();
        let e = new(&empty).map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("connectors.es.default.node lists no node")
        );
    }
}
