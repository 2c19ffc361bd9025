//! Informal timing of SqliteStore slice-state writes (not a test):
//! `cargo run --release -p teraslice-storage --example sqlite_bulk_write [records]`.
use std::time::Instant;

use chrono::Utc;
use teraslice_core::store::{SliceQuery, SliceState, SliceStateRecord, StateStore};
use teraslice_storage::SqliteStore;

fn record(n: u64, state: SliceState) -> SliceStateRecord {
    SliceStateRecord {
        slice_id: format!("slice-{n:08}"),
        slicer_id: 0,
        slicer_order: n,
        request: format!("{{\"start\":{n},\"end\":{}}}", n + 1),
        state,
        ex_id: "ex-bench".into(),
        created: Utc::now(),
        updated: Utc::now(),
        error: None,
        retry_count: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map_or(Ok(10_000), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("teraslice-bench-{}", std::process::id()));
    let store = SqliteStore::open_in_data_dir(&dir)?;

    let pending: Vec<_> = (0..n).map(|i| record(i, SliceState::Pending)).collect();
    let t = Instant::now();
    store.write_slice_states(&pending).await?;
    println!("bulk insert of {n} pending records: {:?}", t.elapsed());

    let done: Vec<_> = (0..n / 2)
        .map(|i| record(i, SliceState::Completed))
        .collect();
    let t = Instant::now();
    store.write_slice_states(&done).await?;
    println!("bulk update of {} records: {:?}", n / 2, t.elapsed());

    let t = Instant::now();
    for r in done.iter().take(1_000) {
        store.write_slice_states(std::slice::from_ref(r)).await?;
    }
    println!("1000 single-record writes: {:?}", t.elapsed());

    let t = Instant::now();
    let count = store
        .count_slice_states("ex-bench", Some(SliceState::Completed))
        .await?;
    println!("count by state ({count}): {:?}", t.elapsed());

    let t = Instant::now();
    let all = store
        .list_slice_states(&SliceQuery::all("ex-bench"))
        .await?;
    println!("list all {} records: {:?}", all.len(), t.elapsed());

    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
