//! Builds the [`ClusterBackend`] named by `teraslice.cluster_manager_type`. Core cannot depend on
//! the backend crates, so the binary registers one constructor per type: the `teraslice` binary
//! registers `native`, `kubernetes` and `mock`, and a library user adds their own under any name
//! (see `docs/extending.md`).
use std::sync::Arc;

use indexmap::IndexMap;

use futures::future::BoxFuture;

use crate::backend::{BackendError, ClusterBackend};
use crate::config::{ClusterManagerType, SystemConfig};

/// What a constructor returns: the backend, built and ready to `initialize()`.
pub type BackendFuture = BoxFuture<'static, Result<Arc<dyn ClusterBackend>, BackendError>>;

/// Builds one kind of backend from the system config. A third-party backend reads its settings
/// from [`crate::config::TerasliceConfig::backend_section`].
pub type BackendConstructor = Arc<dyn Fn(&SystemConfig) -> BackendFuture + Send + Sync>;

/// Why [`BackendFactory::build`] gave no backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendFactoryError {
    /// No constructor is registered under the configured name.
    #[error("teraslice.cluster_manager_type: no cluster backend \"{requested}\" in this build, must be one of {}", registered_list(.registered))]
    Unregistered {
        /// The configured name.
        requested: ClusterManagerType,
        /// Every registered name, in registration order.
        registered: Vec<ClusterManagerType>,
    },
    /// The constructor failed (bad settings, cluster unreachable).
    #[error("cannot create the {kind} cluster backend: {source}")]
    Backend {
        /// The backend's name.
        kind: ClusterManagerType,
        /// Why the constructor failed.
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
        .map(|t| match t.aliases() {
            [] => t.to_string(),
            aliases => format!("{t} (alias {})", aliases.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A registry of backend constructors keyed by cluster manager type, in registration order.
/// Cloning shares the constructors.
#[derive(Default, Clone)]
pub struct BackendFactory {
    constructors: IndexMap<ClusterManagerType, BackendConstructor>,
}

impl BackendFactory {
    /// A factory with no backend registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the constructor for `kind`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use teraslice_core::backend::BackendError;
    /// use teraslice_core::backend_factory::{BackendFactory, BackendFuture};
    /// use teraslice_core::config::{ClusterManagerType, SystemConfig};
    ///
    /// let mut factory = BackendFactory::new();
    /// factory.register(ClusterManagerType::from_static("nomad"), |config: &SystemConfig| {
    ///     // Read `teraslice.nomad` of the config, then build the backend.
    ///     let settings = config.teraslice.backend_section().cloned();
    ///     Box::pin(async move {
    ///         Err(BackendError::Other(format!("not written yet; settings {settings:?}")))
    ///     }) as BackendFuture
    /// });
    /// assert_eq!(factory.registered(), [ClusterManagerType::from_static("nomad")]);
    /// ```
    pub fn register<F>(&mut self, kind: ClusterManagerType, constructor: F) -> &mut Self
    where
        F: Fn(&SystemConfig) -> BackendFuture + Send + Sync + 'static,
    {
        self.constructors.insert(kind, Arc::new(constructor));
        self
    }

    /// Adds every backend of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: &BackendFactory) -> &mut Self {
        for (kind, constructor) in &other.constructors {
            self.constructors.insert(kind.clone(), constructor.clone());
        }
        self
    }

    /// The registered types, in registration order.
    pub fn registered(&self) -> Vec<ClusterManagerType> {
        self.constructors.keys().cloned().collect()
    }

    /// Builds the backend `config.teraslice.cluster_manager_type` names.
    pub async fn build(
        &self,
        config: &SystemConfig,
    ) -> Result<Arc<dyn ClusterBackend>, BackendFactoryError> {
        let kind = config.teraslice.cluster_manager_type.clone();
        let Some(constructor) = self.constructors.get(&kind) else {
            return Err(BackendFactoryError::Unregistered {
                requested: kind,
                registered: self.registered(),
            });
        };
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
            .register(ClusterManagerType::MOCK, failing)
            .register(ClusterManagerType::NATIVE, failing);
        let mut config = SystemConfig::default();
        config.teraslice.cluster_manager_type = ClusterManagerType::KUBERNETES;
        let err = factory.build(&config).await.err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("teraslice.cluster_manager_type: no cluster backend \"kubernetes\" in this build, must be one of mock, native")
        );
    }

    #[tokio::test]
    async fn build_calls_the_constructor_for_the_configured_type_with_the_config() {
        let mut factory = BackendFactory::new();
        factory.register(ClusterManagerType::NATIVE, failing);
        let mut config = SystemConfig::default();
        config.teraslice.name = "ts-dev1".into();
        let err = factory.build(&config).await.err();
        assert!(
            matches!(
                &err,
                Some(BackendFactoryError::Backend {
                    kind,
                    source: BackendError::Unreachable(m),
                }) if m == "built for ts-dev1" && *kind == ClusterManagerType::NATIVE
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_third_party_name_builds_its_backend_and_is_listed_with_the_aliases() {
        let mut factory = BackendFactory::new();
        let slurm = ClusterManagerType::from_static("slurm");
        factory
            .register(ClusterManagerType::KUBERNETES, failing)
            .register(slurm.clone(), failing);
        let config =
            SystemConfig::from_yaml_str("teraslice:\n  name: hpc\n  cluster_manager_type: slurm\n")
                .expect("config");
        let built = factory.build(&config).await.err().map(|e| e.to_string());
        assert_eq!(
            built.as_deref(),
            Some("cannot create the slurm cluster backend: cluster unreachable: built for hpc")
        );
        let mut config = config;
        config.teraslice.cluster_manager_type = ClusterManagerType::from_static("nomad");
        let err = factory.build(&config).await.err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("teraslice.cluster_manager_type: no cluster backend \"nomad\" in this build, must be one of kubernetes (alias kubernetesV2), slurm")
        );
    }
}
