//! The mock backend passes the core backend conformance suite.
use std::sync::Arc;

use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_core::testing::backend::{run_all, BackendHarness};

#[tokio::test]
async fn mock_backend_passes_the_conformance_suite() {
    let backend = Arc::new(MockBackend::new(MockConfig::default()));
    run_all(&BackendHarness::new(backend)).await;
}
