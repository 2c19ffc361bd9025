//! A thin client over the master's JSON API (`/v1/...`).
use anyhow::{anyhow, Context};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer <token>`.
    token: Option<String>,
}

/// An error answer of the API, printed as the API gave it.
#[derive(Debug, thiserror::Error)]
#[error("{method} {path} failed with {status}: {message}")]
pub struct ApiError {
    pub method: Method,
    pub path: String,
    pub status: StatusCode,
    pub message: String,
}

impl ApiClient {
    pub fn new(cluster: &str) -> anyhow::Result<Self> {
        let base = cluster.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("--cluster must be an http:// or https:// URL, got \"{cluster}\"");
        }
        Ok(ApiClient {
            base,
            http: reqwest::Client::new(),
            token: None,
        })
    }

    /// The client of `--cluster` with the `--token` / `TERASLICE_TOKEN` token, if any.
    pub fn for_opts(opts: &super::ClientOpts) -> anyhow::Result<Self> {
        let mut client = Self::new(&opts.cluster)?;
        client.token = opts
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok(client)
    }

    /// `path` starts with `/`; JSON routes are called under `/v1` as teraslice-client-js does.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/v1{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the teraslice master at {}", self.base))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("reading the answer of {method} {path}"))?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or(text);
            return Err(ApiError {
                method,
                path: path.to_string(),
                status,
                message,
            }
            .into());
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| anyhow!("{method} {path}: the master answered invalid JSON: {e}"))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        self.request(Method::POST, path, body).await
    }
}
