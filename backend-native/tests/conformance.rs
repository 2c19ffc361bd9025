//! The core `ClusterBackend` conformance suite, run on real child processes.
mod common;

use std::sync::Arc;

use teraslice_core::testing::backend::{run_all, BackendHarness};

#[tokio::test]
async fn native_backend_passes_the_conformance_suite() {
    // Room for the suite's largest execution (a controller and 4 workers).
    let f = common::fixture(common::GRACEFUL, 8);
    let harness = BackendHarness::new(Arc::clone(&f.backend) as _);
    run_all(&harness).await;
}
