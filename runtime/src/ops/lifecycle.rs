//! Hooks every worker-side operation may implement (Teraslice's `WorkerOperationLifeCycle`).
use async_trait::async_trait;

use super::OpError;

/// All hooks default to doing nothing. The worker calls them on every op of the pipeline in
/// order (fetcher first), and an `Err` from `initialize`, `on_slice_initialized` or
/// `on_slice_started` fails the slice attempt.
#[async_trait]
pub trait OperationLifecycle: Send {
    /// Once, before the first slice.
    async fn initialize(&mut self) -> Result<(), OpError> {
        Ok(())
    }
    /// Once, when the worker exits.
    async fn shutdown(&mut self) -> Result<(), OpError> {
        Ok(())
    }
    /// A new slice was received (not called again for retries of the same slice).
    async fn on_slice_initialized(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// The fetcher has returned for this attempt.
    async fn on_slice_started(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// After the pipeline, success or failure. Errors are only logged.
    async fn on_slice_finalizing(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// The EC recorded the slice as completed. Errors are only logged.
    async fn on_slice_finished(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// The slice failed for good. Errors are only logged.
    async fn on_slice_failed(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// A failed attempt is about to be retried; an `Err` vetoes the retry.
    async fn on_slice_retry(&mut self, _slice_id: &str) -> Result<(), OpError> {
        Ok(())
    }
    /// The worker is draining: the processors get one last empty batch to emit what they hold.
    async fn on_flush_start(&mut self) -> Result<(), OpError> {
        Ok(())
    }
    /// The drain's last batch has gone through the pipeline.
    async fn on_flush_end(&mut self) -> Result<(), OpError> {
        Ok(())
    }
}

/// Implements [`OperationLifecycle`] for an adapter by forwarding every hook to `self.0`.
macro_rules! forward_lifecycle {
    ($adapter:ident, $bound:ident) => {
        #[async_trait::async_trait]
        impl<P: $bound> $crate::ops::OperationLifecycle for $adapter<P> {
            async fn initialize(&mut self) -> Result<(), OpError> {
                self.0.initialize().await
            }
            async fn shutdown(&mut self) -> Result<(), OpError> {
                self.0.shutdown().await
            }
            async fn on_slice_initialized(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_initialized(id).await
            }
            async fn on_slice_started(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_started(id).await
            }
            async fn on_slice_finalizing(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_finalizing(id).await
            }
            async fn on_slice_finished(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_finished(id).await
            }
            async fn on_slice_failed(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_failed(id).await
            }
            async fn on_slice_retry(&mut self, id: &str) -> Result<(), OpError> {
                self.0.on_slice_retry(id).await
            }
            async fn on_flush_start(&mut self) -> Result<(), OpError> {
                self.0.on_flush_start().await
            }
            async fn on_flush_end(&mut self) -> Result<(), OpError> {
                self.0.on_flush_end().await
            }
        }
    };
}
pub(crate) use forward_lifecycle;
