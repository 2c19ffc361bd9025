//! The Kubernetes client: in-cluster config first (the master runs in a pod with a
//! ServiceAccount), then KUBECONFIG / ~/.kube/config.
use kube::config::{Config, KubeConfigOptions};
use kube::Client;
use tracing::info;

use crate::error::K8sError;

/// Makes ring the process's rustls provider unless one is installed. rustls picks one by itself
/// only when exactly one of its `ring` / `aws-lc-rs` features is on; a binary that also links a
/// crate built on aws-lc (object_store's S3 client) has both, and kube's client would panic.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn default_client() -> Result<Client, K8sError> {
    install_crypto_provider();
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && std::env::var_os("KUBERNETES_SERVICE_PORT").is_some();
    let config = if in_cluster {
        info!("using the in-cluster Kubernetes config (pod ServiceAccount)");
        Config::incluster().map_err(|e| K8sError::Client(format!("in-cluster config: {e}")))?
    } else {
        info!("using the Kubernetes config from KUBECONFIG or ~/.kube/config");
        Config::from_kubeconfig(&KubeConfigOptions::default())
            .await
            .map_err(|e| K8sError::Client(format!("kubeconfig: {e}")))?
    };
    Client::try_from(config).map_err(|e| K8sError::Client(e.to_string()))
}
