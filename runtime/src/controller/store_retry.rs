//! Retrying the EC's store writes while the store is unreachable: one outage clock shared by
//! the state writer and the status writes, bounded by `teraslice.state.write_retry_timeout`.
//! While the store is down the engine stops dispatching (Teraslice pauses the scheduler on an
//! unhealthy store, runtime reference §2.12).
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use backon::BackoffBuilder;
use teraslice_core::store::StoreError;
use tokio::sync::watch;
use tokio::time::Instant;

/// Pauses double from the first to the most, each plus up to as much again at random.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// Short enough to notice a returning store within a few seconds.
const MAX_DELAY: Duration = Duration::from_secs(2);

pub struct StoreRetry {
    limit: Duration,
    down_since: Mutex<Option<Instant>>,
    down: watch::Sender<bool>,
}

impl StoreRetry {
    pub fn new(limit: Duration) -> Self {
        StoreRetry {
            limit,
            down_since: Mutex::new(None),
            down: watch::channel(false).0,
        }
    }

    /// True from a failed attempt until the next call that lands.
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.down.subscribe()
    }

    fn mark_up(&self) {
        if let Ok(mut since) = self.down_since.lock() {
            if let Some(at) = since.take() {
                tracing::info!(
                    down_ms = at.elapsed().as_millis() as u64,
                    "state store reachable again; buffered writes are being written"
                );
            }
        }
        self.down.send_if_modified(|d| std::mem::replace(d, false));
    }

    /// When the current outage started (now, if this is its first failure).
    fn outage_start(&self) -> Instant {
        let now = Instant::now();
        let start = match self.down_since.lock() {
            Ok(mut since) => *since.get_or_insert(now),
            Err(_) => now,
        };
        self.down.send_if_modified(|d| !std::mem::replace(d, true));
        start
    }

    /// Runs `op` until it succeeds, fails with something other than `Unavailable`, the outage
    /// has lasted `limit`, or `over_buffer` says too much is waiting (its message is the reason).
    pub async fn run<T, F, Fut>(
        &self,
        what: &str,
        mut op: F,
        over_buffer: impl Fn() -> Option<String>,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(FIRST_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_jitter()
            .without_max_times()
            .build();
        loop {
            let e = match op().await {
                Ok(v) => {
                    self.mark_up();
                    return Ok(v);
                }
                Err(e @ StoreError::Unavailable(_)) => e,
                Err(e) => return Err(e),
            };
            let start = self.outage_start();
            let waited = start.elapsed();
            if waited >= self.limit {
                return Err(StoreError::Unavailable(format!(
                    "{what}: the state store has been unreachable for {} s, longer than teraslice.state.write_retry_timeout ({} s); last error: {e}",
                    waited.as_secs(),
                    self.limit.as_secs()
                )));
            }
            if let Some(reason) = over_buffer() {
                return Err(StoreError::Unavailable(format!(
                    "{what}: {reason}; last error: {e}"
                )));
            }
            let left = self.limit - waited;
            let delay = delays.next().unwrap_or(MAX_DELAY).min(left);
            tracing::warn!(what, error = %e, retry_in_ms = delay.as_millis() as u64,
                "state store unreachable; keeping the write buffered and retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unavailable() -> StoreError {
        StoreError::Unavailable("connection refused".into())
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_shorter_than_the_limit_is_ridden_out() {
        let retry = StoreRetry::new(Duration::from_secs(60));
        let calls = AtomicU32::new(0);
        let got = retry
            .run(
                "slice states",
                || async {
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0..=9 => Err(unavailable()),
                        n => Ok(n),
                    }
                },
                || None,
            )
            .await;
        assert_eq!(got, Ok(10));
        assert!(!retry.is_down(), "a landed write ends the outage");
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_past_the_limit_fails_naming_the_key_and_later_calls_fail_fast() {
        let retry = StoreRetry::new(Duration::from_secs(30));
        let got: Result<(), _> = retry
            .run("slice states", || async { Err(unavailable()) }, || None)
            .await;
        let msg = got.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("teraslice.state.write_retry_timeout (30 s)")
                && msg.contains("connection refused"),
            "{msg}"
        );
        let calls = AtomicU32::new(0);
        let again: Result<(), _> = retry
            .run(
                "status",
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(unavailable())
                },
                || None,
            )
            .await;
        assert!(again.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the same outage: no new wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_and_a_full_buffer_are_not_retried() {
        let retry = StoreRetry::new(Duration::from_secs(30));
        let data: Result<(), _> = retry
            .run(
                "slice states",
                || async { Err(StoreError::Data("mapping".into())) },
                || None,
            )
            .await;
        assert_eq!(data, Err(StoreError::Data("mapping".into())));
        let full: Result<(), _> = retry
            .run(
                "slice states",
                || async { Err(unavailable()) },
                || Some("too many records".into()),
            )
            .await;
        let msg = full.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("too many records"), "{msg}");
    }
}
