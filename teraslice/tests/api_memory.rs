//! The master's memory does not grow with the state it lists: with 100,000 error slice records
//! (each with a 1 KiB stack trace) in SQLite, the error listings — paged, skipped deep, sorted —
//! leave the master's peak resident memory (`VmHWM`) under a bound that reading the table whole
//! (as the master did before) exceeds several times over.
mod api_support;

use api_support::TestMaster;
use reqwest::StatusCode;
use teraslice_core::store::{SliceState, SliceStateRecord};
use teraslice_core::testing::store::fixtures::{execution, job};
use teraslice_core::{ExecutionStatus, StateStore};
use teraslice_storage::SqliteStore;

const SLICES: u64 = 100_000;
/// Peak RSS allowed, MiB: an idle master is ~20 MiB; the 100,000 records alone are ~130 MiB of
/// text, more than twice that once parsed and turned into JSON.
const PEAK_RSS_MIB: u64 = 100;

fn error_slice(ex_id: &str, n: u64) -> SliceStateRecord {
    let trace = format!(
        "Error: slice {n} failed\n{}",
        "    at processor (op.js:1:1)\n".repeat(36)
    );
    SliceStateRecord {
        slice_id: format!("{ex_id}-{n:06}"),
        slicer_id: 0,
        slicer_order: n,
        request: format!("{{\"start\":{n},\"end\":{}}}", n + 1),
        state: SliceState::Error,
        ex_id: ex_id.to_string(),
        created: teraslice_core::time::now(),
        updated: teraslice_core::time::now(),
        error: Some(trace),
        retry_count: Some(3),
    }
}

/// A stored job with one failed execution that has `SLICES` error records.
async fn seed(data_dir: &std::path::Path) -> String {
    let store = SqliteStore::open_in_data_dir(data_dir).expect("open SQLite");
    let now = teraslice_core::time::now();
    let job = job("job-with-errors", now);
    store.create_job(&job).await.expect("create job");
    let ex = execution(&job.job_id, ExecutionStatus::Failed, now);
    store.create_execution(&ex).await.expect("create execution");
    for start in (0..SLICES).step_by(5000) {
        let batch: Vec<_> = (start..start + 5000)
            .map(|n| error_slice(&ex.ex_id, n))
            .collect();
        store
            .write_slice_states(&batch)
            .await
            .expect("write slices");
    }
    ex.ex_id
}

/// Peak resident memory of a process, MiB (`VmHWM` in `/proc/<pid>/status`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib / 1024
}

#[tokio::test]
async fn listing_100k_error_slices_keeps_the_master_memory_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let ex_id = seed(&data).await;
    let yaml = format!(
        "teraslice:\n  name: memtest\n  cluster_manager_type: mock\n  data_dir: {}\n  shutdown_timeout: 10000\n",
        data.display()
    );
    let m = TestMaster::start_yaml(&yaml).await;

    let calls = [
        ("/ex/errors".to_string(), 100),
        (format!("/ex/{ex_id}/errors?from=99990&size=100"), 10),
        (
            format!("/ex/{ex_id}/errors?sort=slicer_order:desc&size=5"),
            5,
        ),
    ];
    let mut last = serde_json::Value::Null;
    for (path, want) in &calls {
        let (status, body) = m.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let got = body.as_array().map(Vec::len).unwrap_or_default();
        assert_eq!(got, *want, "{path}");
        last = body;
    }
    assert_eq!(last[0]["slicer_order"], SLICES - 1, "sorted: {last}");

    let peak = peak_rss_mib(m.pid());
    eprintln!("master peak RSS after the listings: {peak} MiB");
    assert!(
        peak < PEAK_RSS_MIB,
        "the master's peak RSS was {peak} MiB listing {SLICES} error slices; bound {PEAK_RSS_MIB} MiB"
    );
}
