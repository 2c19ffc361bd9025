//! Builds the [`ClusterBackend`] named by `teraslice.cluster_manager_type`. Core cannot depend on
//! the backend crates, so the binary registers one constructor per type.
use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::backend::{BackendError, ClusterBackend};
use crate::config::{ClusterManagerType, SystemConfig};

/// What a constructor returns: the backend, built and ready to `initialize()`.
pub type BackendFuture = BoxFuture<'static, Result<Arc<dyn ClusterBackend>, BackendError>>;

/// Builds one kind of backend from the system config.
pub type BackendConstructor = Box<dyn Fn(&SystemConfig) -> BackendFuture + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum BackendFactoryError {
    #[error("teraslice.cluster_manager_type: no cluster backend \"{requested}\" in this build, must be one of {}", registered_list(.registered))]
    Unregistered {
        requested: ClusterManagerType,
        registered: Vec<ClusterManagerType>,
    },
    #[error("cannot create the {kind} cluster backend: {source}")]
    Backend {
        kind: ClusterManagerType,
        #[source]
        source: BackendError,
    },
}

fn registered_list(types: &[ClusterManagerType]) -> String {
    if types.is_empty() {
        return "none (no backend registered)".to_string();
    }
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A registry of backend constructors keyed by cluster manager type.
#[derive(Default)]
pub struct BackendFactory {
    constructors: HashMap<ClusterManagerType, BackendConstructor>,
}

impl BackendFactory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the constructor for `kind`.
    pub fn register<F>(&mut self, kind: ClusterManagerType, constructor: F) -> &mut Self
    where
        F: Fn(&SystemConfig) -> BackendFuture + Send + Sync + 'static,
    {
        self.constructors.insert(kind, Box::new(constructor));
        self
    }

    /// The registered types, in a stable order (native, kubernetes, mock).
    pub fn registered(&self) -> Vec<ClusterManagerType> {
        [
            ClusterManagerType::Native,
            ClusterManagerType::Kubernetes,
            ClusterManagerType::Mock,
        ]
        .into_iter()
        .filter(|t| self.constructors.contains_key(t))
        .collect()
    }

    /// Builds the backend `config.teraslice.cluster_manager_type` names.
    pub async fn build(
        &self,
        config: &SystemConfig,
    ) -> Result<Arc<dyn ClusterBackend>, BackendFactoryError> {
        let kind = config.teraslice.cluster_manager_type;
        let constructor =
            self.constructors
                .get(&kind)
                .ok_or_else(|| BackendFactoryError::Unregistered {
                    requested: kind,
                    registered: self.registered(),
                })?;
        tracing::info!(
            cluster_manager_type = kind.as_str(),
            "creating cluster backend"
        );
        constructor(config)
            .await
            .map_err(|source| BackendFactoryError::Backend { kind, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(config: &SystemConfig) -> BackendFuture {
        let name = config.teraslice.name.clone();
        Box::pin(async move { Err(BackendError::Unreachable(format!("built for {name}"))) })
    }

    #[tokio::test]
    async fn an_unregistered_type_names_the_key_and_the_registered_types() {
        let mut factory = BackendFactory::new();
        factory
            .register(ClusterManagerType::Mock, failing)
            .register(ClusterManagerType::Native, failing);
        let mut config = SystemConfig::default();
        config.teraslice.cluster_manager_type = ClusterManagerType::Kubernetes;
        let err = factory.build(&config).await.err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("teraslice.cluster_manager_type: no cluster backend \"kubernetes\" in this build, must be one of native, mock")
        );
    }

    #[tokio::test]
    async fn build_calls_the_constructor_for_the_configured_type_with_the_config() {
        let mut factory = BackendFactory::new();
        factory.register(ClusterManagerType::Native, failing);
        let mut config = SystemConfig::default();
        config.teraslice.name = "ts-dev1".into();
        let err = factory.build(&config).await.err();
        assert!(
            matches!(
                &err,
                Some(BackendFactoryError::Backend {
                    kind: ClusterManagerType::Native,
                    source: BackendError::Unreachable(m),
                }) if m == "built for ts-dev1"
            ),
            "{err:?}"
        );
    }
}
