//! The ClusterBackend conformance suite every backend passes, on the real plane.
use std::time::Duration;

use teraslice_core::testing::backend::{run_all, BackendHarness};

use super::support::{admin, backend, require_long_running_job_pods, system_config, TestNamespace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-conformance").await;
    require_long_running_job_pods(&client, &ns.name).await;
    let config = system_config(&ns.name, "conformance", "");
    let b = backend(client.clone(), &config).await;
    let harness = BackendHarness {
        backend: b,
        settle: Duration::from_secs(60),
        stop_timeout: Duration::from_secs(2),
    };
    run_all(&harness).await;
}
