//! Starts `teraslice master` (the built binary) on a free port with the mock backend and SQLite in
//! a temp dir, and talks to it over HTTP.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "../common/master.rs"]
mod master;

pub struct TestMaster {
    pub url: String,
    pub http: reqwest::Client,
    child: Child,
    pub dir: tempfile::TempDir,
    config: PathBuf,
}

/// A job the built-in ops run: test-reader → noop.
pub fn job(name: &str) -> Value {
    json!({
        "name": name,
        "workers": 1,
        "operations": [{"_op": "test-reader"}, {"_op": "noop"}]
    })
}

fn write_config(dir: &std::path::Path, backend: &str, extra: &str) -> PathBuf {
    let config = dir.join("teraslice.yaml");
    // A default simulated cluster with room for 240 processes, unless the test sets its own.
    let mock = if extra.contains("  mock:") || backend != "mock" {
        ""
    } else {
        "  mock:\n    nodes: 4\n    slots_per_node: 120\n"
    };
    let yaml = format!(
        "teraslice:\n  name: apitest\n  cluster_manager_type: {backend}\n  data_dir: {}\n  shutdown_timeout: 10000\n{mock}{extra}",
        dir.join("data").display()
    );
    std::fs::write(&config, yaml).expect("write config");
    config
}

impl TestMaster {
    /// `extra` is appended under `teraslice:` (indent keys by two spaces).
    pub async fn start(extra: &str) -> TestMaster {
        Self::start_with("mock", extra)
    }

    /// A master on the native backend: controllers and workers are child `teraslice` processes.
    pub async fn start_native(extra: &str) -> TestMaster {
        Self::start_with("native", extra)
    }

    /// A master on a whole config file of the test's own (`data_dir` is up to it).
    pub async fn start_yaml(yaml: &str) -> TestMaster {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("teraslice.yaml");
        std::fs::write(&config, yaml).expect("write config");
        Self::start_in(dir, config)
    }

    fn start_with(backend: &str, extra: &str) -> TestMaster {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(dir.path(), backend, extra);
        Self::start_in(dir, config)
    }

    fn start_in(dir: tempfile::TempDir, config: PathBuf) -> TestMaster {
        let (child, url) = master::spawn(&config, None);
        TestMaster {
            url,
            http: reqwest::Client::new(),
            child,
            dir,
            config,
        }
    }

    /// The master's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "send SIGTERM to {pid}");
        self.child.wait().expect("wait for master").success()
    }

    /// Stops this master gracefully and starts another on the same data dir and config.
    pub fn restart(mut self) -> TestMaster {
        assert!(self.terminate(), "master exits cleanly on SIGTERM");
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let config = self.config.clone();
        Self::start_in(dir, config)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        master::call(&self.http, &self.url, method, path, body).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.call(Method::POST, path, body).await
    }

    pub async fn raw(&self, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body);
        master::send_json(req, path).await
    }

    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request reaches the master");
        let status = res.status();
        (status, res.text().await.expect("response body"))
    }

    /// Submits `spec` (started) and returns `(job_id, ex_id)`.
    pub async fn submit(&self, spec: &Value) -> (String, String) {
        let (status, body) = self.post("/jobs", Some(spec)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = |k: &str| {
            body[k]
                .as_str()
                .unwrap_or_else(|| panic!("no {k} in {body}"))
                .to_string()
        };
        (id("job_id"), id("ex_id"))
    }

    pub async fn status_of(&self, ex_id: &str) -> String {
        let (status, ex) = self.get(&format!("/ex/{ex_id}")).await;
        assert_eq!(status, StatusCode::OK, "{ex}");
        ex["_status"].as_str().unwrap_or_default().to_string()
    }

    /// Polls until the execution has `want`; panics (naming the last status) if it never does.
    pub async fn wait_status(&self, ex_id: &str, want: &str) {
        let mut last = String::new();
        for _ in 0..600 {
            last = self.status_of(ex_id).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, ex) = self.get(&format!("/ex/{ex_id}")).await;
        panic!(
            "execution {ex_id} never became {want}; last status {last}, failure reason {}",
            ex["_failureReason"]
        );
    }

    /// Submits a job and waits for its execution to run.
    pub async fn running_job(&self, name: &str) -> (String, String) {
        let ids = self.submit(&job(name)).await;
        self.wait_status(&ids.1, "running").await;
        ids
    }
}

impl Drop for TestMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts a Teraslice error body: `{error: <status>, message}` whose message mentions `needle`.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, needle: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], json!(want.as_u16()), "{body}");
    assert_eq!(body["statusCode"], json!(want.as_u16()), "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(needle),
        "message {msg:?} should mention {needle:?}"
    );
}
