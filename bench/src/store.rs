//! Slice-state bulk writes per second through the `StateStore`: memory, SQLite, and OpenSearch
//! when `OPENSEARCH_URL` is set (as `cargo xtask bench` does).
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use teraslice_core::store::{MemoryStore, SliceState, SliceStateRecord, StateStore};

use crate::report::{ratio, Report};

const BATCH: usize = 1_000;

pub async fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let batches = 5 * scale as usize;
    let memory = rate(Arc::new(MemoryStore::new()), batches).await?;
    let dir = tempfile::tempdir()?;
    let sqlite = rate(
        Arc::new(teraslice_storage::SqliteStore::open(
            dir.path().join("bench.sqlite"),
        )?),
        batches,
    )
    .await?;
    let s = report.section(
        "Slice-state writes (stores)",
        &format!("{batches} bulk writes of {BATCH} new slice-state records, then the same records updated to `completed`; the in-memory store is the baseline."),
    );
    s.row(
        "writes/s, in-memory store",
        format!("{memory:.0}"),
        format!("{memory:.0}"),
        "1.00".into(),
    );
    s.row(
        "writes/s, SQLite (WAL, one transaction per bulk)",
        format!("{sqlite:.0}"),
        format!("{memory:.0} (memory)"),
        ratio(sqlite, memory),
    );
    match opensearch_store().await {
        Some(Ok(store)) => {
            let os = rate(store, batches).await?;
            s.row(
                "writes/s, OpenSearch (`_bulk`)",
                format!("{os:.0}"),
                format!("{sqlite:.0} (SQLite)"),
                ratio(os, sqlite),
            );
        }
        Some(Err(e)) => s.row(
            "writes/s, OpenSearch",
            format!("not measured: {e}"),
            "-".into(),
            "-".into(),
        ),
        None => s.row(
            "writes/s, OpenSearch",
            "not measured: OPENSEARCH_URL not set".into(),
            "-".into(),
            "-".into(),
        ),
    }
    Ok(())
}

async fn opensearch_store() -> Option<anyhow::Result<Arc<dyn StateStore>>> {
    let url = std::env::var("OPENSEARCH_URL").ok()?;
    let name = format!("bench{}", std::process::id());
    let yaml = format!(
        "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{url}\"]\nteraslice:\n  name: {name}\n  state:\n    connection_type: elasticsearch-next\n"
    );
    Some(
        async move {
            let config = teraslice_core::config::SystemConfig::from_yaml_str(&yaml)?;
            let kind = teraslice_storage::StoreKind::from_system_config(&config)?;
            Ok(teraslice_storage::open_store(kind).await?)
        }
        .await,
    )
}

async fn rate(store: Arc<dyn StateStore>, batches: usize) -> anyhow::Result<f64> {
    let ex_id = format!("bench-{}", uuid_like());
    let now = Utc::now();
    let started = Instant::now();
    let mut written = 0usize;
    for b in 0..batches {
        let mut records: Vec<SliceStateRecord> = (0..BATCH)
            .map(|i| SliceStateRecord {
                slice_id: format!("{ex_id}-{b}-{i}"),
                slicer_id: 0,
                slicer_order: (b * BATCH + i) as u64,
                request: "{\"count\":1}".into(),
                state: SliceState::Pending,
                ex_id: ex_id.clone(),
                created: now,
                updated: now,
                error: None,
                retry_count: None,
            })
            .collect();
        store.write_slice_states(&records).await?;
        for r in &mut records {
            r.state = SliceState::Completed;
        }
        store.write_slice_states(&records).await?;
        written += 2 * BATCH;
    }
    Ok(written as f64 / started.elapsed().as_secs_f64())
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id())
    )
}
