//! System configuration: the `terafoundation` and `teraslice` sections of the YAML config.
//! (Being filled in: see issue #2.)
use serde::{Deserialize, Serialize};

/// `teraslice.cluster_manager_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClusterManagerType {
    #[serde(rename = "native")]
    Native,
    /// Also accepted as `kubernetesV2`.
    #[serde(rename = "kubernetes", alias = "kubernetesV2")]
    Kubernetes,
    #[serde(rename = "mock")]
    Mock,
}

impl ClusterManagerType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Kubernetes => "kubernetes",
            Self::Mock => "mock",
        }
    }
}
