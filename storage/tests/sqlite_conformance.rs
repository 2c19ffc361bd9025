//! The StateStore conformance suite on a SqliteStore backed by a temporary file.
use std::sync::Arc;

use teraslice_core::store::StateStore;
use teraslice_core::testing::store::run_all;
use teraslice_storage::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_state_store_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = std::sync::atomic::AtomicUsize::new(0);
    let dir_path = dir.path().to_path_buf();
    run_all(|| {
        let path = dir_path.join(format!(
            "store-{}/teraslice.sqlite",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move {
            let store = SqliteStore::open(&path).expect("open a fresh SQLite store");
            Arc::new(store) as Arc<dyn StateStore>
        }
    })
    .await;
}
