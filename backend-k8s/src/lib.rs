//! Teraslice's Kubernetes cluster backend (`cluster_manager_type: kubernetes`, alias `kubernetesV2`).
//!
//! Per execution: a `batch/v1` Job runs the execution controller, a Service gives it a stable
//! address (`<service>.<namespace>:45680`), and an `apps/v1` Deployment runs the workers; the
//! Service and Deployment are owned by the Job, so deleting the Job removes everything.
//! Cluster state and lifecycle events come from one label-selected pod watch (a reflector),
//! never from a pod list per call. See docs/kubernetes.md.
mod allocate;
mod backend;
mod client;
pub mod config;
pub mod error;
pub mod manifests;
#[cfg(test)]
mod mock_api;
pub mod names;
mod objects;
mod retry;
mod scale;
mod stop;

pub use backend::{register, KubernetesBackend};
pub use client::install_crypto_provider;
pub use config::K8sConfig;
pub use error::K8sError;
pub mod watch;
