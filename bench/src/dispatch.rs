//! Slice dispatch rate of the execution controller (noop job, 1-record slices, 4 workers) against
//! a raw WebSocket request/response loop on loopback with messages of the same sizes; the same
//! with data_generator making each record; and records/s of data_generator → noop per worker.
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use teraslice_core::config::SystemConfig;
use teraslice_core::job::validate_job;
use teraslice_core::store::{MemoryStore, SliceQuery, SliceState, SliceStateRecord, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus};
use teraslice_runtime::ops::Slice;
use teraslice_runtime::protocol::{Envelope, Message, SliceAnalytics, SliceReport};
use teraslice_runtime::{
    ControllerOptions, ExecutionController, OpRegistry, RuntimeTimeouts, Worker, WorkerOptions,
};
use tokio::sync::oneshot;

use crate::dispatch_native::process_rate;
use crate::raw_websocket::raw_websocket_rate;
use crate::report::{ratio, Report};
use crate::threads::on_own_thread;

const WORKERS: usize = 4;

pub async fn run(report: &mut Report, teraslice: &Path, scale: u64) -> anyhow::Result<()> {
    let slices = 5_000 * scale;
    let memory: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let dir = tempfile::tempdir()?;
    let sqlite: Arc<dyn StateStore> = Arc::new(teraslice_storage::SqliteStore::open(
        dir.path().join("bench.sqlite"),
    )?);
    let (request, reply) = message_sizes()?;
    // The noop job: each slice request is the slice's one record (test-reader passes it
    // through), so the ops do no work of their own.
    let requests = dir.path().join("requests.json");
    let one_record_each: Vec<Value> = (0..slices).map(|i| json!([{ "n": i }])).collect();
    std::fs::write(&requests, serde_json::to_vec(&one_record_each)?)?;
    let noop_reader = json!({
        "_op": "test-reader",
        "passthrough_slice": true,
        "slicer_data_file_path": requests.to_string_lossy(),
    });
    let generator = json!({"_op": "data_generator", "size": slices});
    let raw = raw_websocket_rate(WORKERS, slices, request, reply).await?;
    let on_memory = execution_rate(memory.clone(), slices, noop_reader.clone()).await?;
    let fast_pings = RuntimeTimeouts {
        heartbeat_timeout: HEARTBEAT_UNDER_TEST,
        ..timeouts()
    };
    let pinging =
        execution_rate_with(memory.clone(), slices, noop_reader.clone(), fast_pings).await?;
    let on_sqlite = execution_rate(sqlite.clone(), slices, noop_reader.clone()).await?;
    let generated = execution_rate(memory.clone(), slices, generator).await?;
    let processes = process_rate(teraslice, slices, WORKERS, noop_reader.clone()).await?;
    let s = report.section(
        "Slice dispatch (runtime)",
        &format!(
            "A `once` noop job (test-reader passing through a one-record request per slice → noop; \
             {slices} slices) on {WORKERS} workers over loopback WebSockets, against a raw loop of \
             {WORKERS} WebSocket clients doing one request/response each of the same sizes ({request} B request, \
             {reply} B reply). One slice is one request/response exchange (the report, answered with the next \
             slice), so the raw rate is the ceiling. Both sides are laid out as the product's processes run: \
             the EC (the raw server) on a current-thread runtime of its own thread, each worker (each raw \
             client) on its own; one process, so no exec or process switch on either side. Until \
             2026-11-27 both sides shared one multi-thread runtime instead; that layout gave 0.43 (memory) and \
             0.33 (SQLite) that day, the raw loop being twice as fast there. Target: ≥ 0.5. The dispatch rate is counted from the \
             first slice's `completed` to the last one's (the state records' `_updated`); the \
             \"whole execution\" rows count from the EC's start to its end, which adds the fixed cost of \
             starting and finishing an execution (measured on its own under start-up). The data_generator \
             rows make each record with data_generator instead (its own work is in the records/s section). \
             The `teraslice run` rows are the same noop job through the release binary: master, native \
             backend, SQLite, and the EC and workers as processes (their whole-execution figure includes \
             starting the processes). The heartbeat row runs the memory-store job with \
             `heartbeat_timeout` at {} ms (both ends ping every {} ms) against the default (2 min, \
             so no ping during the run), in the same run: what the pings and the liveness checks \
             cost.",
            HEARTBEAT_UNDER_TEST.as_millis(),
            teraslice_runtime::protocol::ping_interval(HEARTBEAT_UNDER_TEST).as_millis(),
        ),
    );
    let rows = [
        ("memory store", &on_memory),
        ("SQLite store", &on_sqlite),
        ("data_generator → noop, memory store", &generated),
        (
            "`teraslice run` (EC and worker processes, SQLite)",
            &processes,
        ),
    ];
    let spans: [(&str, RateOf); 2] = [("", |r| r.dispatch), (", whole execution", |r| r.whole)];
    for (span, rate) in spans {
        for (what, rates) in rows {
            let value = rate(rates);
            s.row(
                &format!("slices/s, {what}{span}"),
                format!("{value:.0}"),
                format!("{raw:.0} raw round trips/s"),
                ratio(value, raw),
            );
        }
    }

    s.row(
        &format!(
            "slices/s, memory store, pings every {} ms",
            teraslice_runtime::protocol::ping_interval(HEARTBEAT_UNDER_TEST).as_millis()
        ),
        format!("{:.0}", pinging.dispatch),
        format!(
            "{:.0} (memory store, default heartbeat)",
            on_memory.dispatch
        ),
        ratio(pinging.dispatch, on_memory.dispatch),
    );
    Ok(())
}

/// The heartbeat of the ping row: short, so both ends ping often during the run.
const HEARTBEAT_UNDER_TEST: std::time::Duration = std::time::Duration::from_secs(1);

/// Records/s of data_generator → noop, with one worker and with [`WORKERS`].
pub async fn run_records(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let memory: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let records = 50_000 * scale;
    let one = records_rate(memory.clone(), records, 1).await?;
    let four = records_rate(memory, records, WORKERS).await?;
    let s = report.section(
        "Records per second (runtime)",
        &format!("data_generator → noop, {records} records in slices of 5,000, memory store; per worker, with 1 and {WORKERS} workers."),
    );
    s.row(
        "records/s per worker, 1 worker",
        format!("{one:.0}"),
        format!("{one:.0}"),
        "1.00".into(),
    );
    let per = four / WORKERS as f64;
    s.row(
        &format!("records/s per worker, {WORKERS} workers"),
        format!("{per:.0}"),
        format!("{one:.0} (1 worker)"),
        ratio(per, one),
    );
    Ok(())
}

/// Serialized sizes of the two frames of a slice, as the protocol sends them: the report (with
/// the analytics of a two-op job) and its answer carrying the next slice.
fn message_sizes() -> anyhow::Result<(usize, usize)> {
    let slice = Slice::new(0, 1, json!([{ "n": 10_000 }]));
    let report = SliceReport {
        slice_id: slice.slice_id.clone(),
        analytics: Some(SliceAnalytics {
            time: vec![0, 0],
            size: vec![1, 1],
            memory: vec![0, 0],
        }),
        error: None,
        retry_count: 0,
    };
    let done = Envelope {
        id: 2,
        reply_to: None,
        message: Message::SliceComplete(report),
    };
    let recorded = Envelope {
        id: 1,
        reply_to: Some(2),
        message: Message::SliceRecorded {
            slice_id: slice.slice_id.clone(),
            next: Some(slice),
        },
    };
    Ok((
        serde_json::to_vec(&done)?.len(),
        serde_json::to_vec(&recorded)?.len(),
    ))
}

fn job(
    reader: Value,
    processor: Value,
    workers: usize,
) -> anyhow::Result<teraslice_core::JobConfig> {
    let registry: Arc<dyn teraslice_core::job::validate::OpCatalog> = Arc::new(builtin_ops());
    let ctx = SystemConfig::default().validation_context(Some(registry));
    let spec = json!({
        "name": "bench", "workers": workers, "analytics": false,
        "operations": [reader, processor]
    });
    validate_job(&spec, &ctx).map_err(|e| anyhow::anyhow!("bench job: {e}"))
}

fn timeouts() -> RuntimeTimeouts {
    RuntimeTimeouts {
        slicer_timeout: std::time::Duration::from_secs(60),
        ..RuntimeTimeouts::default()
    }
}

/// Which of an execution's [`Rates`] a row shows.
pub type RateOf = fn(&Rates) -> f64;

/// Slices per second of one execution.
pub struct Rates {
    /// Between the first and the last slice's `completed` (the state records' `_updated`):
    /// dispatch alone, without the execution's fixed start and end.
    pub dispatch: f64,
    /// From the EC's start to its end.
    pub whole: f64,
}

/// Runs one execution of `reader` → noop (1-record slices) on [`WORKERS`] workers in-process.
async fn execution_rate(
    store: Arc<dyn StateStore>,
    slices: u64,
    reader: Value,
) -> anyhow::Result<Rates> {
    execution_rate_with(store, slices, reader, timeouts()).await
}

/// [`execution_rate`] with these timeouts on the EC and the workers.
async fn execution_rate_with(
    store: Arc<dyn StateStore>,
    slices: u64,
    reader: Value,
    timeouts: RuntimeTimeouts,
) -> anyhow::Result<Rates> {
    // `size` on the last op is data_generator's records per slice; test-reader ignores it.
    let noop = json!({"_op": "noop", "size": 1});
    let ex = ExecutionRecord::new("bench", job(reader, noop, WORKERS)?);
    let ex_id = ex.ex_id.clone();
    let (elapsed, status) = run_execution(store.clone(), ex, WORKERS, timeouts).await?;
    if status != ExecutionStatus::Completed {
        bail!("bench execution ended {status}");
    }
    let query = SliceQuery {
        states: vec![SliceState::Completed],
        ..SliceQuery::all(&ex_id)
    };
    let done = store.list_slice_states(&query).await?;
    rates_from_store(&done, slices, elapsed)
}

/// Rates from the `completed` records of an execution of `slices` slices that took `elapsed`
/// seconds in all.
pub fn rates_from_store(
    done: &[SliceStateRecord],
    slices: u64,
    elapsed: f64,
) -> anyhow::Result<Rates> {
    if done.len() as u64 != slices {
        bail!(
            "bench execution completed {} slices of {slices}",
            done.len()
        );
    }
    let first = done.iter().map(|r| r.updated).min();
    let last = done.iter().map(|r| r.updated).max();
    let span = match (first, last) {
        (Some(first), Some(last)) => (last - first).to_std()?.as_secs_f64(),
        _ => 0.0,
    };
    if span <= 0.0 {
        bail!("bench execution: no time between the first and the last slice");
    }
    Ok(Rates {
        dispatch: (slices - 1) as f64 / span,
        whole: slices as f64 / elapsed,
    })
}

async fn records_rate(
    store: Arc<dyn StateStore>,
    records: u64,
    workers: usize,
) -> anyhow::Result<f64> {
    let reader = json!({"_op": "data_generator", "size": records});
    let ex = ExecutionRecord::new(
        "bench",
        job(reader, json!({"_op": "noop", "size": 5000}), workers)?,
    );
    let (elapsed, status) = run_execution(store, ex, workers, timeouts()).await?;
    if status != ExecutionStatus::Completed {
        bail!("bench execution ended {status}");
    }
    Ok(records as f64 / elapsed)
}

/// Runs one execution laid out as the product runs it: the EC on a current-thread runtime of
/// its own thread (as `teraslice execution-controller`), each worker on its own (as
/// `teraslice worker`); returns the EC's running time and the final status.
async fn run_execution(
    store: Arc<dyn StateStore>,
    ex: ExecutionRecord,
    workers: usize,
    timeouts: RuntimeTimeouts,
) -> anyhow::Result<(f64, ExecutionStatus)> {
    store.create_execution(&ex).await?;
    let registry = Arc::new(builtin_ops());
    let opts = ControllerOptions {
        registry: registry.clone(),
        timeouts: timeouts.clone(),
        bind_host: "127.0.0.1".into(),
    };
    let (addr_tx, addr_rx) = oneshot::channel();
    let ec = {
        let (ex, store) = (ex.clone(), store.clone());
        on_own_thread(move || async move {
            let ec = ExecutionController::new(ex, store, opts).await?;
            let _ = addr_tx.send(ec.local_addr().to_string());
            let started = Instant::now();
            let outcome = ec.run().await?;
            Ok((started.elapsed().as_secs_f64(), outcome.status))
        })
    };
    let addr = addr_rx.await.context("the EC did not start")?;
    let mut tasks = Vec::new();
    for i in 0..workers {
        let opts = WorkerOptions {
            registry: registry.clone(),
            timeouts: timeouts.clone(),
        };
        let worker = Worker::new(ex.clone(), store.clone(), &addr, format!("bench-{i}"), opts);
        tasks.push(on_own_thread(
            move || async move { Ok(worker.run().await?) },
        ));
    }
    let ran = ec.await.context("EC thread")?;
    for t in tasks {
        let _ = t.await;
    }
    ran
}

/// The operations of the `teraslice` binary: the core built-ins and the `file`,
/// `elasticsearch`, `kafka` and `standard` assets (`teraslice::default_ops`).
pub fn builtin_ops() -> OpRegistry {
    let mut ops = OpRegistry::with_builtins();
    teraslice_asset_file::register(&mut ops);
    teraslice_asset_elasticsearch::register(&mut ops);
    // Before standard, as the binary does: routed_sender sends through kafka_sender.
    teraslice_asset_kafka::register(&mut ops);
    teraslice_asset_standard::register(&mut ops);
    ops
}
