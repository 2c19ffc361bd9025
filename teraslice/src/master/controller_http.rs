//! Reaches an execution controller over HTTP at `slicer_hostname:slicer_port` for pause, resume
//! analytics and the log level, on the control routes the runtime's EC serves
//! (runtime/src/controller/http.rs): `POST /api/v1/pause`, `POST /api/v1/resume`,
//! `GET /api/v1/analytics` (`{name, ex_id, job_id, stats}`), `POST /api/v1/settings?log_level=`;
//! any 2xx is success, anything else carries the reason in its body. Each request carries the
//! execution's control secret (`Authorization: Bearer`), without which the EC refuses it.
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use teraslice_core::scheduler::{ControllerClient, ControllerError};
use teraslice_core::ExecutionRecord;

pub const PAUSE_PATH: &str = "/api/v1/pause";
pub const RESUME_PATH: &str = "/api/v1/resume";
pub const ANALYTICS_PATH: &str = "/api/v1/analytics";
pub const SETTINGS_PATH: &str = "/api/v1/settings";

pub struct HttpControllerClient {
    http: reqwest::Client,
}

impl HttpControllerClient {
    /// `timeout` bounds each request (Teraslice: `action_timeout + network_latency_buffer`).
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        HttpControllerClient { http }
    }

    fn url(ex: &ExecutionRecord, path: &str) -> Result<String, ControllerError> {
        match (&ex.slicer_hostname, ex.slicer_port) {
            (Some(host), Some(port)) => Ok(format!("http://{host}:{port}{path}")),
            _ => Err(ControllerError(format!(
                "Execution {} is not available: it has no execution controller address yet",
                ex.ex_id
            ))),
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        ex: &ExecutionRecord,
    ) -> Result<Value, ControllerError> {
        let unavailable =
            |e: String| ControllerError(format!("Execution {} is not available: {e}", ex.ex_id));
        let req = match &ex.control_secret {
            Some(secret) => req.bearer_auth(secret),
            None => req,
        };
        let res = req.send().await.map_err(|e| unavailable(e.to_string()))?;
        let status = res.status();
        let text = res.text().await.map_err(|e| unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(unavailable(format!("controller answered {status}: {text}")));
        }
        if text.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(&text)
            .map_err(|e| unavailable(format!("controller answered invalid JSON: {e}")))
    }
}

#[async_trait]
impl ControllerClient for HttpControllerClient {
    async fn pause(&self, ex: &ExecutionRecord) -> Result<(), ControllerError> {
        let url = Self::url(ex, PAUSE_PATH)?;
        self.send(self.http.post(url), ex).await.map(|_| ())
    }

    async fn resume(&self, ex: &ExecutionRecord) -> Result<(), ControllerError> {
        let url = Self::url(ex, RESUME_PATH)?;
        self.send(self.http.post(url), ex).await.map(|_| ())
    }

    async fn set_log_level(
        &self,
        ex: &ExecutionRecord,
        level: &str,
    ) -> Result<(), ControllerError> {
        let url = Self::url(ex, SETTINGS_PATH)?;
        let req = self.http.post(url).query(&[("log_level", level)]);
        self.send(req, ex).await.map(|_| ())
    }

    async fn stats(&self, ex: &ExecutionRecord) -> Result<Value, ControllerError> {
        let url = Self::url(ex, ANALYTICS_PATH)?;
        let reply = self.send(self.http.get(url), ex).await?;
        // The EC wraps ExecutionAnalytics as `{name, ex_id, job_id, stats}`.
        Ok(match reply {
            Value::Object(mut m) if m.contains_key("stats") => {
                m.shift_remove("stats").unwrap_or_default()
            }
            other => other,
        })
    }
}
