//! Starting `teraslice master` and reading its JSON answers, shared by `common::native` and
//! `api_support` (which includes this file by path).
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// `teraslice master --port 0 --bind 127.0.0.1 -c <config>`, in `cwd` when given, with quiet
/// logs; returns the process and the URL it printed once listening.
pub fn spawn(config: &Path, cwd: Option<&Path>) -> (Child, String) {
    spawn_with_env(config, cwd, &[])
}

/// [`spawn`], with `env` added to the master's environment (its children inherit it).
pub fn spawn_with_env(
    config: &Path,
    cwd: Option<&Path>,
    env: &[(String, String)],
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_teraslice"));
    command
        .args(["master", "--port", "0", "--bind", "127.0.0.1", "-c"])
        .arg(config)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("TERASLICE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let mut child = command.spawn().expect("spawn teraslice master");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read master stdout");
    let url = line
        .trim()
        .strip_prefix("teraslice master listening on ")
        .unwrap_or_else(|| panic!("master did not report its address, printed {line:?}"))
        .to_string();
    (child, url)
}

/// Sends `req` (to `path`) and returns the status and the JSON body; panics if it is not JSON.
pub async fn send_json(req: RequestBuilder, path: &str) -> (StatusCode, Value) {
    let res = req.send().await.expect("request reaches the master");
    let status = res.status();
    let text = res.text().await.expect("response body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: response is not JSON ({e}): {text}"));
    (status, value)
}

/// `method url+path`, with `body` as JSON when given; the status and the JSON answer.
pub async fn call(
    http: &reqwest::Client,
    url: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, format!("{url}{path}"));
    if let Some(b) = body {
        req = req.json(b);
    }
    send_json(req, path).await
}
