//! The `teraslice.*` timeouts the EC and workers use, with Teraslice's defaults. The binary
//! fills them from the system config.
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTimeouts {
    /// How long a request (e.g. a slice handed to a worker) may wait for its reply, before
    /// `network_latency_buffer` is added. Default 2 min.
    pub action_timeout: Duration,
    /// Added to every request timeout. Default 15 s.
    pub network_latency_buffer: Duration,
    /// EC: fail if no worker has connected by then. Worker: give up connecting after it.
    /// Default 3 min.
    pub slicer_timeout: Duration,
    /// How long a stop waits for in-flight slices before ending anyway. Default 1 min.
    pub shutdown_timeout: Duration,
    /// EC: fail once every worker has been gone this long. Default 5 min.
    pub worker_disconnect_timeout: Duration,
    /// EC and worker: how long either side goes without hearing from the other (a frame, a
    /// WebSocket ping or pong; each side pings every quarter of it) before it drops the
    /// connection as half-open; also how long the `worker:hello` handshake may take
    /// (`teraslice.heartbeat_timeout`). Default 2 min.
    pub heartbeat_timeout: Duration,
    /// EC: how long slice-state, analytics and status writes stay buffered and retried while
    /// the store is unreachable before the execution fails (`teraslice.state.write_retry_timeout`).
    /// Default 5 min.
    pub state_write_retry_timeout: Duration,
    /// EC: most records buffered for an unreachable store; more fails the execution
    /// (`teraslice.state.write_buffer_limit`). Default 100000.
    pub state_write_buffer_limit: usize,
}

impl Default for RuntimeTimeouts {
    fn default() -> Self {
        RuntimeTimeouts {
            action_timeout: Duration::from_secs(120),
            network_latency_buffer: Duration::from_secs(15),
            slicer_timeout: Duration::from_secs(180),
            shutdown_timeout: Duration::from_secs(60),
            worker_disconnect_timeout: Duration::from_secs(300),
            heartbeat_timeout: Duration::from_secs(120),
            state_write_retry_timeout: Duration::from_secs(300),
            state_write_buffer_limit: 100_000,
        }
    }
}

impl RuntimeTimeouts {
    /// Teraslice `getTimeout`: `action_timeout + network_latency_buffer`.
    pub fn request_timeout(&self) -> Duration {
        self.action_timeout + self.network_latency_buffer
    }
}
