//! Test harness: an EC and workers as tokio tasks on loopback over core's MemoryStore, plus
//! test-only ops registered through the public OpRegistry API.
#![allow(dead_code)]
pub mod ops;
pub mod relay;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use teraslice_core::store::{MemoryStore, SliceQuery, SliceState, SliceStateRecord, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobConfig};
use teraslice_runtime::controller::ControllerOptions;
use teraslice_runtime::worker::WorkerOutcome;
use teraslice_runtime::{
    ControllerHandle, ExecutionController, ExecutionOutcome, OpRegistry, RuntimeError,
    RuntimeTimeouts, Worker, WorkerHandle, WorkerOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// A job JSON with Teraslice's defaults, `overrides` merged on top.
pub fn job(overrides: Value) -> JobConfig {
    let mut base = json!({
        "name": "test-job", "lifecycle": "once", "active": true, "analytics": true,
        "assets": null, "autorecover": false, "max_retries": 0,
        "operations": [{"_op": "test-reader"}, {"_op": "noop"}],
        "apis": [], "probation_window": 300000, "slicers": 1, "workers": 1,
        "stateful": false, "labels": null, "env_vars": {}, "log_level": null
    });
    if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            b.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value(base) {
        Ok(job) => job,
        Err(e) => panic!("test job does not deserialize: {e}"),
    }
}

/// Timeouts short enough for tests but far above any loopback latency.
pub fn timeouts() -> RuntimeTimeouts {
    RuntimeTimeouts {
        action_timeout: Duration::from_secs(20),
        network_latency_buffer: Duration::from_secs(1),
        slicer_timeout: Duration::from_secs(20),
        shutdown_timeout: Duration::from_secs(20),
        worker_disconnect_timeout: Duration::from_secs(20),
        ..RuntimeTimeouts::default()
    }
}

/// A temp file with `requests` as the test-reader's slicer data.
pub fn slicer_file(requests: &[Value]) -> tempfile::NamedTempFile {
    let file = match tempfile::NamedTempFile::new() {
        Ok(f) => f,
        Err(e) => panic!("temp file: {e}"),
    };
    if let Err(e) = std::fs::write(file.path(), Value::Array(requests.to_vec()).to_string()) {
        panic!("write temp file: {e}");
    }
    file
}

pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub ex: ExecutionRecord,
    pub registry: Arc<OpRegistry>,
    pub timeouts: RuntimeTimeouts,
    pub addr: SocketAddr,
    pub ec: ControllerHandle,
    pub ec_task: JoinHandle<Result<ExecutionOutcome, RuntimeError>>,
}

impl Harness {
    pub async fn start(job: JobConfig, registry: OpRegistry, timeouts: RuntimeTimeouts) -> Harness {
        // RUST_LOG=teraslice_runtime=debug shows the EC and workers.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let store = Arc::new(MemoryStore::new());
        let ex = ExecutionRecord::new("job-1", job);
        if let Err(e) = store.create_execution(&ex).await {
            panic!("create execution: {e}");
        }
        Self::start_with(store, ex, registry, timeouts).await
    }

    /// Starts an EC for `ex`, already in `store`.
    pub async fn start_with(
        store: Arc<MemoryStore>,
        ex: ExecutionRecord,
        registry: OpRegistry,
        timeouts: RuntimeTimeouts,
    ) -> Harness {
        Self::start_with_options(store, ex, registry, timeouts, false).await
    }

    pub async fn start_with_options(
        store: Arc<MemoryStore>,
        ex: ExecutionRecord,
        registry: OpRegistry,
        timeouts: RuntimeTimeouts,
        relocatable_restart: bool,
    ) -> Harness {
        let registry = Arc::new(registry);
        let opts = ControllerOptions {
            registry: registry.clone(),
            timeouts: timeouts.clone(),
            bind_host: "127.0.0.1".into(),
        };
        let ec = match ExecutionController::new(ex.clone(), store.clone(), opts).await {
            Ok(ec) => ec.relocatable_restart(relocatable_restart),
            Err(e) => panic!("EC did not start: {e}"),
        };
        let addr = ec.local_addr();
        let handle = ec.handle();
        let ec_task = tokio::spawn(ec.run());
        Harness {
            store,
            ex,
            registry,
            timeouts,
            addr,
            ec: handle,
            ec_task,
        }
    }

    pub fn worker(
        &self,
        id: &str,
    ) -> (
        WorkerHandle,
        JoinHandle<Result<WorkerOutcome, RuntimeError>>,
    ) {
        self.worker_via(id, self.addr)
    }

    /// A worker that reaches the EC at `addr` (e.g. through a [`relay::Relay`]).
    pub fn worker_via(
        &self,
        id: &str,
        addr: SocketAddr,
    ) -> (
        WorkerHandle,
        JoinHandle<Result<WorkerOutcome, RuntimeError>>,
    ) {
        let opts = WorkerOptions {
            registry: self.registry.clone(),
            timeouts: self.timeouts.clone(),
        };
        let w = Worker::new(
            self.ex.clone(),
            self.store.clone(),
            &addr.to_string(),
            id,
            opts,
        );
        let handle = w.handle();
        (handle, tokio::spawn(w.run()))
    }

    pub fn workers(&self, n: usize) -> Vec<JoinHandle<Result<WorkerOutcome, RuntimeError>>> {
        (0..n)
            .map(|i| self.worker(&format!("worker-{i}")).1)
            .collect()
    }

    pub async fn outcome(self) -> ExecutionOutcome {
        match self.ec_task.await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => panic!("EC failed: {e}"),
            Err(e) => panic!("EC task: {e}"),
        }
    }

    /// The outcome of an execution that must complete (panics with the failure reason otherwise).
    pub async fn completed(self) -> ExecutionOutcome {
        let outcome = self.outcome().await;
        assert_eq!(
            outcome.status,
            ExecutionStatus::Completed,
            "{:?}",
            outcome.failure_reason
        );
        outcome
    }

    pub async fn slices(&self) -> Vec<SliceStateRecord> {
        slices(&self.store, &self.ex.ex_id).await
    }

    pub async fn count(&self, state: SliceState) -> u64 {
        match self
            .store
            .count_slice_states(&self.ex.ex_id, Some(state))
            .await
        {
            Ok(n) => n,
            Err(e) => panic!("count: {e}"),
        }
    }

    /// `(status, body)` of a plain HTTP/1.1 request to the EC, with the execution's control
    /// secret as the master sends it.
    pub async fn http(&self, method: &str, path: &str) -> (u16, String) {
        let auth = match &self.ex.control_secret {
            Some(secret) => format!("Authorization: Bearer {secret}\r\n"),
            None => String::new(),
        };
        http_with(self.addr, method, path, &auth).await
    }
}

pub async fn slices(store: &MemoryStore, ex_id: &str) -> Vec<SliceStateRecord> {
    match store.list_slice_states(&SliceQuery::all(ex_id)).await {
        Ok(s) => s,
        Err(e) => panic!("list slices: {e}"),
    }
}

pub async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    http_with(addr, method, path, "").await
}

/// Like [`http`], with `headers` (each ending in CRLF) added to the request.
pub async fn http_with(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String) {
    let mut s = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => panic!("connect {addr}: {e}"),
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: ec\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = s.write_all(req.as_bytes()).await {
        panic!("send: {e}");
    }
    let mut buf = String::new();
    if let Err(e) = s.read_to_string(&mut buf).await {
        panic!("read: {e}");
    }
    let status = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// Polls `cond` until true. The limit only stops a broken test from hanging forever.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..3000 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting for: {what}");
}

pub async fn join_worker(task: JoinHandle<Result<WorkerOutcome, RuntimeError>>) -> WorkerOutcome {
    match task.await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => panic!("worker failed: {e}"),
        Err(e) => panic!("worker task: {e}"),
    }
}

/// Runs `job` to its end on `workers` workers; panics unless it completed.
pub async fn run_to_completion(job: JobConfig, registry: OpRegistry, workers: usize) {
    let h = Harness::start(job, registry, timeouts()).await;
    let tasks = h.workers(workers);
    h.completed().await;
    for t in tasks {
        join_worker(t).await;
    }
}

/// The worker WebSocket's upgrade request to `h`'s EC, with `secret` as a bearer token if given.
pub fn ws_request(
    h: &Harness,
    secret: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = teraslice_runtime::worker::worker_url(&h.addr.to_string());
    let mut request = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    if let Some(secret) = secret {
        match format!("Bearer {secret}").parse() {
            Ok(v) => {
                request.headers_mut().insert("authorization", v);
            }
            Err(e) => panic!("header: {e}"),
        }
    }
    request
}
