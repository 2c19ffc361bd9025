//! The master's path: the factory builds the backend from the config file alone (KUBECONFIG).
use teraslice_backend_k8s::register;
use teraslice_core::backend::Readiness;
use teraslice_core::backend_factory::BackendFactory;
use teraslice_core::config::ClusterManagerType;

use super::support::{admin, system_config, TestNamespace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registered_constructor_builds_a_ready_backend_from_the_config() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-factory").await;
    let mut factory = BackendFactory::new();
    register(&mut factory);
    assert_eq!(factory.registered(), vec![ClusterManagerType::KUBERNETES]);
    let backend = factory
        .build(&system_config(&ns.name, "factory", ""))
        .await
        .expect("built from KUBECONFIG");
    assert_eq!(backend.kind(), ClusterManagerType::KUBERNETES);
    backend.initialize().await.expect("initialize");
    assert_eq!(backend.ready_for_allocation().await, Readiness::Ready);
    let state = backend.cluster_state().await.expect("state");
    assert!(
        state.values().all(|n| n.active.is_empty()),
        "a new namespace runs nothing: {state:?}"
    );
}
