//! A `ClusterBackend` wrapper for scheduler tests: it forwards every call to an inner backend
//! unless its [`BackendHooks`] step in (count calls, hold one, write the store first, claim other
//! capabilities), so a test overrides only the call it is about.
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::backend::{
    BackendError, BackendEvent, Capabilities, ClusterBackend, ClusterState, ControllerAddress,
    Readiness, StopOptions, WorkerChange,
};
use crate::config::ClusterManagerType;
use crate::execution::ExecutionRecord;

/// What a [`ForwardingBackend`] does on each call; every method forwards to `inner` unless
/// overridden. `()` forwards everything.
#[async_trait]
pub trait BackendHooks: Send + Sync {
    fn kind(&self, inner: &dyn ClusterBackend) -> ClusterManagerType {
        inner.kind()
    }
    fn capabilities(&self, inner: &dyn ClusterBackend) -> Capabilities {
        inner.capabilities()
    }
    async fn initialize(&self, inner: &dyn ClusterBackend) -> Result<(), BackendError> {
        inner.initialize().await
    }
    async fn shutdown(&self, inner: &dyn ClusterBackend) -> Result<(), BackendError> {
        inner.shutdown().await
    }
    async fn ready_for_allocation(&self, inner: &dyn ClusterBackend) -> Readiness {
        inner.ready_for_allocation().await
    }
    async fn allocate_execution_controller(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        inner.allocate_execution_controller(ex).await
    }
    async fn allocate_workers(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        inner.allocate_workers(ex, workers).await
    }
    async fn add_workers(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        inner.add_workers(ex, n).await
    }
    async fn remove_workers(
        &self,
        inner: &dyn ClusterBackend,
        ex_id: &str,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        inner.remove_workers(ex_id, n).await
    }
    async fn set_workers(
        &self,
        inner: &dyn ClusterBackend,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        inner.set_workers(ex, total).await
    }
    async fn stop_execution(
        &self,
        inner: &dyn ClusterBackend,
        ex_id: &str,
        opts: &StopOptions,
    ) -> Result<(), BackendError> {
        inner.stop_execution(ex_id, opts).await
    }
    async fn cluster_state(
        &self,
        inner: &dyn ClusterBackend,
    ) -> Result<ClusterState, BackendError> {
        inner.cluster_state().await
    }
    fn subscribe(&self, inner: &dyn ClusterBackend) -> broadcast::Receiver<BackendEvent> {
        inner.subscribe()
    }
}

impl BackendHooks for () {}

/// `inner` as seen through `hooks`.
pub struct ForwardingBackend<H> {
    inner: Arc<dyn ClusterBackend>,
    hooks: H,
}

impl<H: BackendHooks> ForwardingBackend<H> {
    pub fn new(inner: Arc<dyn ClusterBackend>, hooks: H) -> Self {
        ForwardingBackend { inner, hooks }
    }

    /// The hooks, for reading what they recorded or releasing what they hold.
    pub fn hooks(&self) -> &H {
        &self.hooks
    }
}

#[async_trait]
impl<H: BackendHooks> ClusterBackend for ForwardingBackend<H> {
    fn kind(&self) -> ClusterManagerType {
        self.hooks.kind(&*self.inner)
    }
    fn capabilities(&self) -> Capabilities {
        self.hooks.capabilities(&*self.inner)
    }
    async fn initialize(&self) -> Result<(), BackendError> {
        self.hooks.initialize(&*self.inner).await
    }
    async fn shutdown(&self) -> Result<(), BackendError> {
        self.hooks.shutdown(&*self.inner).await
    }
    async fn ready_for_allocation(&self) -> Readiness {
        self.hooks.ready_for_allocation(&*self.inner).await
    }
    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        self.hooks
            .allocate_execution_controller(&*self.inner, ex)
            .await
    }
    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        self.hooks.allocate_workers(&*self.inner, ex, workers).await
    }
    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.hooks.add_workers(&*self.inner, ex, n).await
    }
    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        self.hooks.remove_workers(&*self.inner, ex_id, n).await
    }
    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        self.hooks.set_workers(&*self.inner, ex, total).await
    }
    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError> {
        self.hooks.stop_execution(&*self.inner, ex_id, opts).await
    }
    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        self.hooks.cluster_state(&*self.inner).await
    }
    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.hooks.subscribe(&*self.inner)
    }
}

// `MockClusterBackend` exists with the `mock` feature only.
#[cfg(all(test, feature = "mock"))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::backend::MockClusterBackend;

    struct CountStops(AtomicUsize);

    #[async_trait]
    impl BackendHooks for CountStops {
        async fn stop_execution(
            &self,
            inner: &dyn ClusterBackend,
            ex_id: &str,
            opts: &StopOptions,
        ) -> Result<(), BackendError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            inner.stop_execution(ex_id, opts).await
        }
    }

    #[tokio::test]
    async fn calls_go_through_the_hooks_to_the_inner_backend() {
        let mut inner = MockClusterBackend::new();
        inner.expect_kind().return_const(ClusterManagerType::MOCK);
        inner
            .expect_stop_execution()
            .times(2)
            .returning(|_, _| Ok(()));
        let backend = ForwardingBackend::new(Arc::new(inner), CountStops(AtomicUsize::new(0)));
        assert_eq!(backend.kind(), ClusterManagerType::MOCK);
        for _ in 0..2 {
            let stopped = backend
                .stop_execution("ex-1", &StopOptions::default())
                .await;
            assert_eq!(stopped, Ok(()));
        }
        assert_eq!(backend.hooks().0.load(Ordering::SeqCst), 2);
    }
}
