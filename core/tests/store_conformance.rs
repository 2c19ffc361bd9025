//! The StateStore conformance suite on the in-memory reference store.
#![cfg(feature = "testing")]
use std::sync::Arc;

use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::testing::store::run_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_state_store_conformance_suite() {
    run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn StateStore> }).await;
}
