//! One terafoundation Elasticsearch/OpenSearch connector (`terafoundation.connectors.
//! <elasticsearch-next|elasticsearch>.<name>`): where the server is and how to talk to it.
use std::time::Duration;

use percent_encoding::percent_decode_str;
use reqwest::Url;
use serde_json::Value;
use teraslice_core::duration::parse_duration_ms;
use teraslice_core::redact::redact;

/// Default `requestTimeout` of Teraslice's `elasticsearch-next` connector.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(120_000);
/// Default `maxRetries` of Teraslice's connector.
const DEFAULT_MAX_RETRIES: u32 = 3;
/// Ours: how long the first contact keeps being retried before the store gives up.
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Teraslice's connector default `node`.
const DEFAULT_NODE: &str = "http://127.0.0.1:9200";

/// One connector, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Names the connector in messages, e.g. `terafoundation.connectors.elasticsearch-next.default`.
    pub source: String,
    /// `node` (or `host`): tried in turn; a bare `host:port` means `http://host:port`.
    pub nodes: Vec<Url>,
    pub auth: Option<Auth>,
    /// `caCertificate` or `ssl.ca`: PEM certificates trusted besides the system's.
    pub ca_certificate: Option<String>,
    /// `ssl.rejectUnauthorized` (default true): false accepts any server certificate.
    pub reject_unauthorized: bool,
    /// `requestTimeout` (ms or a duration string). Default 2 minutes.
    pub request_timeout: Duration,
    /// `maxRetries`: retries of a request that met a connection error, 429 or 5xx. Default 3.
    pub max_retries: u32,
    /// Ours, `startupTimeout`: how long opening the store retries an unreachable server. Default 2 minutes.
    pub startup_timeout: Duration,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Basic {
        username: String,
        password: String,
    },
    /// The `Authorization: ApiKey <value>` value (base64 of `id:api_key`).
    ApiKey(String),
}

impl std::fmt::Debug for Auth {
    // Secrets stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
            Auth::ApiKey(_) => write!(f, "ApiKey(<secret>)"),
        }
    }
}

/// A connector setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    /// The full key, e.g. `terafoundation.connectors.elasticsearch-next.default.node`.
    pub key: String,
    pub problem: String,
}

impl ConnectionConfig {
    /// Parses one connector's object; `source` is its full key, used in errors.
    pub fn from_connector(source: &str, connector: &Value) -> Result<Self, ConfigError> {
        let err = |key: &str, problem: String| ConfigError {
            key: format!("{source}.{key}"),
            problem,
        };
        if !connector.is_object() {
            return Err(ConfigError {
                key: source.into(),
                problem: format!("must be an object with `node`, got {connector}"),
            });
        }
        let (key, raw_nodes) = match (connector.get("node"), connector.get("host")) {
            (Some(v), _) => ("node", v),
            (None, Some(v)) => ("host", v),
            (None, None) => ("node", &Value::Null),
        };
        let parsed: Vec<(Url, Option<Auth>)> = match raw_nodes {
            Value::Null => vec![parse_node(DEFAULT_NODE).map_err(|p| err(key, p))?],
            Value::String(s) => vec![parse_node(s).map_err(|p| err(key, p))?],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => parse_node(s),
                    other => Err(format!(
                        "each node must be a URL string, got {}",
                        redact(&other.to_string())
                    )),
                })
                .collect::<Result<_, _>>()
                .map_err(|p| err(key, p))?,
            other => {
                return Err(err(
                    key,
                    format!(
                        "must be a URL or a non-empty list of URLs, got {}",
                        redact(&other.to_string())
                    ),
                ))
            }
        };
        // Credentials written into a node URL (the first such node's) are the connector's Basic
        // auth unless it sets its own.
        let mut url_auth = None;
        let nodes: Vec<Url> = parsed
            .into_iter()
            .map(|(url, auth)| {
                if url_auth.is_none() {
                    url_auth = auth;
                }
                url
            })
            .collect();
        let ssl = connector.get("ssl");
        let ca_certificate = match (
            present(connector.get("caCertificate")),
            present(ssl.and_then(|s| s.get("ca"))),
        ) {
            (Some(Value::String(pem)), _) | (None, Some(Value::String(pem))) => Some(pem.clone()),
            (None, None) => None,
            (Some(other), _) => {
                return Err(err(
                    "caCertificate",
                    format!("must be a PEM string, got {other}"),
                ))
            }
            (None, Some(other)) => {
                return Err(err("ssl.ca", format!("must be a PEM string, got {other}")))
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
        let duration = |key: &str, default: Duration| match connector.get(key) {
            None => Ok(default),
            Some(v) => parse_duration_ms(v)
                .map(Duration::from_millis)
                .map_err(|p| err(key, p)),
        };
        let request_timeout = duration("requestTimeout", DEFAULT_REQUEST_TIMEOUT)?;
        let startup_timeout = duration("startupTimeout", DEFAULT_STARTUP_TIMEOUT)?;
        let max_retries = match connector.get("maxRetries") {
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
        Ok(ConnectionConfig {
            source: source.into(),
            nodes,
            auth: parse_auth(connector)
                .map_err(|(k, p)| err(k, p))?
                .or(url_auth),
            ca_certificate,
            reject_unauthorized,
            request_timeout,
            max_retries,
            startup_timeout,
        })
    }
}

/// `username`/`password`, `auth.{username,password}`, or `apiKey` / `auth.apiKey`.
fn parse_auth(connector: &Value) -> Result<Option<Auth>, (&'static str, String)> {
    let auth = connector.get("auth");
    let text = |v: Option<&Value>, key: &'static str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err((key, format!("must be a string, got {other}"))),
    };
    let api_key = match connector.get("apiKey") {
        Some(v) => text(Some(v), "apiKey")?,
        None => text(auth.and_then(|a| a.get("apiKey")), "auth.apiKey")?,
    };
    if let Some(key) = api_key {
        return Ok(Some(Auth::ApiKey(key)));
    }
    let username = match connector.get("username") {
        Some(v) => text(Some(v), "username")?,
        None => text(auth.and_then(|a| a.get("username")), "auth.username")?,
    };
    let password = match connector.get("password") {
        Some(v) => text(Some(v), "password")?,
        None => text(auth.and_then(|a| a.get("password")), "auth.password")?,
    };
    match (username, password) {
        (Some(username), password) => Ok(Some(Auth::Basic {
            username,
            password: password.unwrap_or_default(),
        })),
        (None, Some(_)) => Err(("username", "is required when a password is set".into())),
        (None, None) => Ok(None),
    }
}

/// A key that is set: `null` counts as unset, as for the auth keys.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// A node URL without its credentials: `https://user:pw@host` becomes `https://host` and
/// `Auth::Basic` (used when the connector sets no auth of its own), so no URL that is logged,
/// shown in an error or stored carries them.
fn parse_node(raw: &str) -> Result<(Url, Option<Auth>), String> {
    let shown = redact(raw);
    let trimmed = raw.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| format!("\"{shown}\" is not a URL like http://host:9200: {e}"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "\"{shown}\" has scheme {other}; allowed: http, https"
            ))
        }
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let auth = (!url.username().is_empty() || url.password().is_some()).then(|| Auth::Basic {
        username: decode(url.username()),
        password: url.password().map(decode).unwrap_or_default(),
    });
    // Only fails for URLs that cannot have a host (not http/https).
    let stripped = url.set_username("").is_ok() && url.set_password(None).is_ok();
    if !stripped {
        return Err(format!(
            "\"{shown}\": cannot take the credentials out of the URL"
        ));
    }
    Ok((url, auth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SRC: &str = "terafoundation.connectors.elasticsearch-next.default";

    #[test]
    fn teraslice_connector_keys_are_read() {
        let c = ConnectionConfig::from_connector(
            SRC,
            &json!({
                "node": ["localhost:9200", "https://es2:9243/prefix"],
                "username": "admin", "password": "pw",
                "caCertificate": "-----BEGIN CERTIFICATE-----",
                "requestTimeout": "30 seconds", "maxRetries": 5, "startupTimeout": 1500
            }),
        )
        .expect("valid connector");
        let nodes: Vec<&str> = c.nodes.iter().map(Url::as_str).collect();
        assert_eq!(nodes, ["http://localhost:9200/", "https://es2:9243/prefix"]);
        assert_eq!(
            c.auth,
            Some(Auth::Basic {
                username: "admin".into(),
                password: "pw".into()
            })
        );
        assert!(c.ca_certificate.is_some() && c.reject_unauthorized);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(
            (c.max_retries, c.startup_timeout),
            (5, Duration::from_millis(1500))
        );
    }

    #[test]
    fn defaults_apply_to_missing_and_null_keys() {
        let c =
            ConnectionConfig::from_connector(SRC, &json!({"node": null, "caCertificate": null}))
                .expect("valid connector");
        assert_eq!(c.nodes[0].as_str(), "http://127.0.0.1:9200/");
        assert_eq!((c.auth, c.ca_certificate), (None, None));
        assert_eq!(
            (c.request_timeout, c.max_retries, c.startup_timeout),
            (DEFAULT_REQUEST_TIMEOUT, 3, DEFAULT_STARTUP_TIMEOUT)
        );
    }

    #[test]
    fn legacy_host_ssl_object_and_api_key() {
        let c = ConnectionConfig::from_connector(
            SRC,
            &json!({"host": "es:9200", "ssl": {"ca": "PEM", "rejectUnauthorized": false},
                    "auth": {"apiKey": "aWQ6a2V5"}}),
        )
        .expect("valid connector");
        assert_eq!(c.nodes[0].as_str(), "http://es:9200/");
        assert_eq!(c.auth, Some(Auth::ApiKey("aWQ6a2V5".into())));
        assert_eq!(c.ca_certificate.as_deref(), Some("PEM"));
        assert!(!c.reject_unauthorized);
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_allowed() {
        let e = ConnectionConfig::from_connector(SRC, &json!({"node": ["ftp://x"]}))
            .expect_err("ftp is refused");
        assert_eq!(e.key, format!("{SRC}.node"));
        assert!(e.problem.contains("allowed: http, https"), "{e}");
        let e = ConnectionConfig::from_connector(SRC, &json!({"node": "h:1", "maxRetries": -1}))
            .expect_err("negative retries");
        assert_eq!(e.key, format!("{SRC}.maxRetries"));
        let e = ConnectionConfig::from_connector(SRC, &json!({"password": "x"}))
            .expect_err("password alone");
        assert_eq!(e.key, format!("{SRC}.username"));
        let e = ConnectionConfig::from_connector(SRC, &json!({"ssl": {"ca": 5}}))
            .expect_err("ca is not text");
        assert_eq!(e.key, format!("{SRC}.ssl.ca"));
        let e = ConnectionConfig::from_connector(SRC, &json!("es:9200")).expect_err("not a map");
        assert_eq!(e.key, SRC);
    }

    #[test]
    fn credentials_in_a_node_url_become_basic_auth_and_leave_the_url() {
        let c = ConnectionConfig::from_connector(
            SRC,
            &json!({"node": ["https://elastic:p%40ss@es:9243/", "http://es2:9200"]}),
        )
        .expect("valid");
        let nodes: Vec<&str> = c.nodes.iter().map(Url::as_str).collect();
        assert_eq!(nodes, ["https://es:9243/", "http://es2:9200/"]);
        assert_eq!(
            c.auth,
            Some(Auth::Basic {
                username: "elastic".into(),
                password: "p@ss".into()
            })
        );
        let own = ConnectionConfig::from_connector(
            SRC,
            &json!({"node": "http://u:p@es:9200", "apiKey": "aWQ6a2V5"}),
        )
        .expect("valid");
        assert_eq!(
            own.auth,
            Some(Auth::ApiKey("aWQ6a2V5".into())),
            "the connector's own auth wins"
        );
        assert_eq!(own.nodes[0].as_str(), "http://es:9200/");
        let e = ConnectionConfig::from_connector(SRC, &json!({"node": "ftp://u:hidden@x"}))
            .expect_err("bad scheme");
        assert!(!e.to_string().contains("hidden"), "{e}");
    }
}
