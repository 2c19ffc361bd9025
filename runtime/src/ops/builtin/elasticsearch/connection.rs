//! Which server an op talks to: the connector `terafoundation.connectors.elasticsearch-next.<name>`
//! (or the v2 type `elasticsearch.<name>`), read the way storage's store reads it.
use std::time::Duration;

use reqwest::Url;
use serde_json::{Map, Value};
use teraslice_core::duration::parse_duration_ms;

use super::error::EsError;

/// Teraslice's `elasticsearch-next` defaults: `requestTimeout` 2 minutes, `maxRetries` 3.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(120_000);
const DEFAULT_MAX_RETRIES: u32 = 3;

/// Connector types searched, newest first.
const CONNECTOR_TYPES: [&str; 2] = ["elasticsearch-next", "elasticsearch"];

#[derive(Debug, Clone)]
pub struct Connection {
    /// The connector's full key, for messages.
    pub source: String,
    pub nodes: Vec<Url>,
    pub auth: Option<Auth>,
    pub ca_certificate: Option<String>,
    pub reject_unauthorized: bool,
    pub request_timeout: Duration,
    /// Retries of a request that met a connection error, 429 or 5xx.
    pub max_retries: u32,
}

#[derive(Clone)]
pub enum Auth {
    Basic { username: String, password: String },
    ApiKey(String),
}

impl std::fmt::Debug for Auth {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
            Auth::ApiKey(_) => f.write_str("ApiKey(<secret>)"),
        }
    }
}

impl Connection {
    /// The connector `name` of `connectors` (`terafoundation.connectors`).
    pub fn find(connectors: &Map<String, Value>, name: &str) -> Result<Self, EsError> {
        for kind in CONNECTOR_TYPES {
            if let Some(c) = connectors.get(kind).and_then(|m| m.get(name)) {
                let source = format!("terafoundation.connectors.{kind}.{name}");
                return Self::parse(&source, c);
            }
        }
        let mut have: Vec<String> = CONNECTOR_TYPES
            .iter()
            .filter_map(|k| connectors.get(*k).and_then(Value::as_object))
            .flat_map(|m| m.keys().cloned())
            .collect();
        have.sort();
        Err(EsError::Config(format!(
            "no connector \"{name}\" in terafoundation.connectors.elasticsearch-next (or .elasticsearch); configured: [{}]",
            have.join(", ")
        )))
    }

    fn parse(source: &str, c: &Value) -> Result<Self, EsError> {
        let err = |key: &str, problem: String| EsError::Config(format!("{source}.{key} {problem}"));
        if !c.is_object() {
            return Err(EsError::Config(format!(
                "{source} must be an object with `node`, got {c}"
            )));
        }
        let (key, raw) = match (c.get("node"), c.get("host")) {
            (Some(v), _) => ("node", v.clone()),
            (None, Some(v)) => ("host", v.clone()),
            (None, None) => ("node", Value::from("http://127.0.0.1:9200")),
        };
        let nodes = match &raw {
            Value::String(s) => vec![parse_node(s).map_err(|p| err(key, p))?],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => parse_node(s),
                    other => Err(format!("each node must be a URL string, got {other}")),
                })
                .collect::<Result<_, _>>()
                .map_err(|p| err(key, p))?,
            other => {
                return Err(err(
                    key,
                    format!("must be a URL or a non-empty list of URLs, got {other}"),
                ))
            }
        };
        let text = |v: Option<&Value>, key: &str| match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(err(key, format!("must be a string, got {other}"))),
        };
        let auth_obj = c.get("auth");
        let api_key = match c.get("apiKey") {
            Some(v) => text(Some(v), "apiKey")?,
            None => text(auth_obj.and_then(|a| a.get("apiKey")), "auth.apiKey")?,
        };
        let username = match c.get("username") {
            Some(v) => text(Some(v), "username")?,
            None => text(auth_obj.and_then(|a| a.get("username")), "auth.username")?,
        };
        let password = match c.get("password") {
            Some(v) => text(Some(v), "password")?,
            None => text(auth_obj.and_then(|a| a.get("password")), "auth.password")?,
        };
        let auth = match (api_key, username) {
            (Some(k), _) => Some(Auth::ApiKey(k)),
            (None, Some(username)) => Some(Auth::Basic {
                username,
                password: password.unwrap_or_default(),
            }),
            (None, None) => None,
        };
        let ssl = c.get("ssl");
        let ca_certificate = match c.get("caCertificate").or(ssl.and_then(|s| s.get("ca"))) {
            None | Some(Value::Null) => None,
            Some(Value::String(pem)) => Some(pem.clone()),
            Some(other) => {
                return Err(err(
                    "caCertificate",
                    format!("must be a PEM string, got {other}"),
                ))
            }
        };
        let reject_unauthorized = match ssl.and_then(|s| s.get("rejectUnauthorized")) {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(err(
                    "ssl.rejectUnauthorized",
                    format!("must be true or false, got {other}"),
                ))
            }
        };
        let request_timeout = match c.get("requestTimeout") {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(v) => {
                Duration::from_millis(parse_duration_ms(v).map_err(|p| err("requestTimeout", p))?)
            }
        };
        let max_retries = match c.get("maxRetries") {
            None => DEFAULT_MAX_RETRIES,
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    err(
                        "maxRetries",
                        format!("must be a non-negative integer, got {v}"),
                    )
                })?,
        };
        Ok(Connection {
            source: source.to_string(),
            nodes,
            auth,
            ca_certificate,
            reject_unauthorized,
            request_timeout,
            max_retries,
        })
    }
}

/// A legacy op-level `connection` naming no connector (core checks only `_connection`); skipped
/// when the registry has no connectors (e.g. the master validating without them).
pub fn check_legacy(
    connectors: &Map<String, Value>,
    op: &Map<String, Value>,
) -> Option<teraslice_core::job::ValidationError> {
    let name = op.get("connection")?;
    if connectors.is_empty() {
        return None;
    }
    let problem = match name.as_str() {
        Some(n) => Connection::find(connectors, n).err()?.to_string(),
        None => format!(
            "must name a connector of terafoundation.connectors.elasticsearch-next, got {name}"
        ),
    };
    Some(teraslice_core::job::ValidationError {
        path: "connection".into(),
        message: problem,
    })
}

fn parse_node(raw: &str) -> Result<Url, String> {
    let trimmed = raw.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| format!("\"{raw}\" is not a URL like http://host:9200: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "\"{raw}\" has scheme {other}; allowed: http, https"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connectors(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn finds_next_then_legacy_connectors_and_lists_known_ones() {
        let c = connectors(json!({
            "elasticsearch-next": {"default": {"node": ["localhost:9200"], "username": "u", "password": "p"}},
            "elasticsearch": {"old": {"host": "es:9200", "maxRetries": 7}},
        }));
        let d = Connection::find(&c, "default").expect("default");
        assert_eq!(d.nodes[0].as_str(), "http://localhost:9200/");
        assert!(matches!(d.auth, Some(Auth::Basic { .. })));
        let o = Connection::find(&c, "old").expect("old");
        assert_eq!((o.nodes[0].as_str(), o.max_retries), ("http://es:9200/", 7));
        let e = Connection::find(&c, "nope").expect_err("missing");
        assert!(e.to_string().contains("[default, old]"), "{e}");
        let bad = connectors(json!({"elasticsearch-next": {"default": {"node": ["ftp://x"]}}}));
        let e = Connection::find(&bad, "default").expect_err("ftp");
        assert!(
            e.to_string().contains("elasticsearch-next.default.node"),
            "{e}"
        );
    }
}
