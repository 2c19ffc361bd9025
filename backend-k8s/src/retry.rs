//! Retries of list, get, patch and delete on answers worth retrying: 429, 5xx, timeouts and
//! connection errors. Creates are not retried blindly; a 409 after a lost answer is adopted.
use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tracing::warn;

fn policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(4)
        .with_jitter()
}

/// Whether the same request may succeed if sent again.
pub fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || s.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Runs `call` until it succeeds, fails for good, or the retries run out.
pub async fn retry<T, F, Fut>(what: &str, call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    call.retry(policy())
        .when(is_transient)
        .notify(|e, wait| warn!(error = %e, ?wait, "{what} failed; retrying"))
        .await
}
