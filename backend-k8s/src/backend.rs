//! [`KubernetesBackend`]: the `ClusterBackend` on Kubernetes.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use kube::Client;
use teraslice_core::backend::{
    BackendEvent, Capabilities, ClusterBackend, ClusterState, ControllerAddress, Readiness,
    StopOptions, WorkerChange,
};
use teraslice_core::backend_factory::{BackendFactory, BackendFuture};
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::{BackendError, ExecutionRecord};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::config::K8sConfig;
use crate::error::K8sError;
use crate::manifests::Owner;
use crate::objects::Objects;
use crate::scale::ScaleOp;
use crate::watch::PodWatch;
use crate::{allocate, client, manifests, scale, stop};

/// How long `initialize` waits for the first pod list.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
const EVENT_BUFFER: usize = 1024;

pub struct KubernetesBackend {
    cfg: K8sConfig,
    objects: Objects,
    events: broadcast::Sender<BackendEvent>,
    watch: PodWatch,
    task: Mutex<Option<JoinHandle<()>>>,
    /// EC Jobs this process created or adopted, by exId, until their workers are allocated:
    /// the Deployment's owner without reading the Job back.
    owners: Mutex<HashMap<String, Owner>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps: still usable after a panic elsewhere.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KubernetesBackend {
    /// The constructor the master registers for `cluster_manager_type: kubernetes`: in-cluster
    /// config when running in a pod, else KUBECONFIG / ~/.kube/config.
    pub async fn from_config(config: &SystemConfig) -> Result<Arc<Self>, BackendError> {
        let client = client::default_client().await?;
        Self::with_client(client, config)
    }

    /// A backend on `client` (tests: a ServiceAccount token, a counting layer). Starts the pod
    /// watch, so it must be called inside a Tokio runtime.
    pub fn with_client(client: Client, config: &SystemConfig) -> Result<Arc<Self>, BackendError> {
        let cfg = K8sConfig::from_system(config)?;
        let objects = Objects::new(client, &cfg.namespace);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (watch, task) = PodWatch::start(
            objects.pods.clone(),
            &cfg.pod_selector(),
            cfg.unschedulable_timeout,
            events.clone(),
        );
        Ok(Arc::new(KubernetesBackend {
            cfg,
            objects,
            events,
            watch,
            task: Mutex::new(Some(task)),
            owners: Mutex::default(),
        }))
    }

    pub fn config(&self) -> &K8sConfig {
        &self.cfg
    }

    fn stop_watch(&self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

impl Drop for KubernetesBackend {
    fn drop(&mut self) {
        self.stop_watch();
    }
}

#[async_trait]
impl ClusterBackend for KubernetesBackend {
    fn kind(&self) -> ClusterManagerType {
        ClusterManagerType::KUBERNETES
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            targets: true,
            volumes: true,
            resources: true,
            pod_spec_override: true,
        }
    }

    async fn initialize(&self) -> Result<(), BackendError> {
        self.watch.wait_synced(SYNC_TIMEOUT).await.map_err(|e| {
            BackendError::Unreachable(format!(
                "cannot watch pods ({}) in namespace {}: {e}",
                self.cfg.pod_selector(),
                self.cfg.namespace
            ))
        })
    }

    async fn shutdown(&self) -> Result<(), BackendError> {
        // Executions keep running across master restarts, as in Teraslice: nothing is deleted.
        self.stop_watch();
        Ok(())
    }

    async fn ready_for_allocation(&self) -> Readiness {
        if let Some(e) = self.watch.last_error() {
            return Readiness::NotReady {
                reason: format!(
                    "the Kubernetes API of namespace {} is failing: {e}",
                    self.cfg.namespace
                ),
            };
        }
        if !self.watch.is_synced() {
            return Readiness::NotReady {
                reason: format!(
                    "waiting for the first pod list of namespace {}",
                    self.cfg.namespace
                ),
            };
        }
        Readiness::Ready
    }

    async fn allocate_execution_controller(
        &self,
        ex: &ExecutionRecord,
    ) -> Result<ControllerAddress, BackendError> {
        let (address, owner) = allocate::controller(&self.objects, &self.cfg, ex).await?;
        lock(&self.owners).insert(ex.ex_id.clone(), owner);
        Ok(address)
    }

    async fn allocate_workers(
        &self,
        ex: &ExecutionRecord,
        workers: u32,
    ) -> Result<(), BackendError> {
        let owner = lock(&self.owners).get(&ex.ex_id).cloned();
        allocate::workers(&self.objects, &self.cfg, ex, workers, owner)
            .await
            .map_err(|e| match e {
                // Keep the hint ("allocate the execution controller first") in the message.
                K8sError::Missing { .. } => BackendError::Allocation(e.to_string()),
                e => e.into(),
            })?;
        lock(&self.owners).remove(&ex.ex_id);
        Ok(())
    }

    async fn add_workers(
        &self,
        ex: &ExecutionRecord,
        n: u32,
    ) -> Result<WorkerChange, BackendError> {
        Ok(scale::scale(&self.objects, &ex.ex_id, ScaleOp::Add, n).await?)
    }

    async fn remove_workers(&self, ex_id: &str, n: u32) -> Result<WorkerChange, BackendError> {
        Ok(scale::scale(&self.objects, ex_id, ScaleOp::Remove, n).await?)
    }

    async fn set_workers(
        &self,
        ex: &ExecutionRecord,
        total: u32,
    ) -> Result<WorkerChange, BackendError> {
        let name = manifests::worker_deployment_name(ex);
        Ok(scale::set(&self.objects, &name, &ex.ex_id, total).await?)
    }

    async fn stop_execution(&self, ex_id: &str, opts: &StopOptions) -> Result<(), BackendError> {
        lock(&self.owners).remove(ex_id);
        self.watch.stopping(ex_id);
        // An unsynced cache may miss pods of another grace period: then the stop deletes them.
        let cached_grace = (self.watch.is_synced() && self.watch.last_error().is_none())
            .then(|| self.watch.grace_periods_of(ex_id));
        let cached = cached_grace.as_deref();
        Ok(stop::stop(&self.objects, &self.cfg, ex_id, opts, cached).await?)
    }

    async fn cluster_state(&self) -> Result<ClusterState, BackendError> {
        // From the watch cache: no API call per request.
        Ok(self.watch.cluster_state())
    }

    fn subscribe(&self) -> broadcast::Receiver<BackendEvent> {
        self.events.subscribe()
    }
}

/// Registers [`KubernetesBackend::from_config`] for `cluster_manager_type: kubernetes`
/// (alias `kubernetesV2`) in the master's backend factory.
pub fn register(factory: &mut BackendFactory) {
    factory.register(ClusterManagerType::KUBERNETES, |config: &SystemConfig| {
        let config = config.clone();
        Box::pin(async move {
            let backend: Arc<dyn ClusterBackend> = KubernetesBackend::from_config(&config).await?;
            Ok(backend)
        }) as BackendFuture
    });
}
