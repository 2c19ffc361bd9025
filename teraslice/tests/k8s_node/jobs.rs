//! Job files the real-node tests submit, and what they check afterwards.
use std::collections::HashMap;

use serde_json::{json, Value};
use tokio::sync::{Mutex, MutexGuard};

use super::cluster::TeraCluster;
use super::store;

/// One test at a time: each runs a master, an EC and workers on 2 cores.
pub async fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::const_new(());
    LOCK.lock().await
}

/// `records` generated records in slices of `per_slice`, each slice held `delay_ms`, written
/// to `index` by `elasticsearch_bulk`.
pub fn generate_to_index(
    name: &str,
    workers: u32,
    records: u64,
    per_slice: u64,
    delay_ms: u64,
    index: &str,
) -> Value {
    json!({
        "name": name,
        "lifecycle": "once",
        "workers": workers,
        "assets": ["elasticsearch", "standard"],
        "operations": [
            {"_op": "data_generator", "size": records},
            {"_op": "delay", "ms": delay_ms},
            {"_op": "elasticsearch_bulk", "index": index, "size": per_slice}
        ]
    })
}

/// A persistent job that never ends by itself: each slice takes `delay_ms`.
pub fn persistent(name: &str, workers: u32, delay_ms: u64) -> Value {
    json!({
        "name": name,
        "lifecycle": "persistent",
        "workers": workers,
        "operations": [
            {"_op": "data_generator", "size": 10},
            {"_op": "delay", "ms": delay_ms},
            {"_op": "noop"}
        ]
    })
}

/// Every slice of `ex_id` is recorded once and `completed`; their number.
pub async fn assert_every_slice_completed_once(cluster: &TeraCluster, ex_id: &str) -> usize {
    let states = store::slice_states(&cluster.name, ex_id).await;
    assert!(
        !states.is_empty(),
        "no slice of {ex_id} in {}__state*",
        cluster.name
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in &states {
        assert_eq!(s["state"], "completed", "slice not completed: {s}");
        *seen
            .entry(s["slice_id"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "slices recorded more than once: {repeated:?}"
    );
    states.len()
}

pub fn ex_id(ex: &Value) -> String {
    ex["ex_id"].as_str().expect("ex_id").to_string()
}
