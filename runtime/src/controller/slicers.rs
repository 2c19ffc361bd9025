//! Slicer streams: one task per [`Slicer`], asking for the next request only while the EC's
//! queue has room (a semaphore of `MAX_QUEUE` permits, released when a slice is dispatched) and
//! the execution is not paused. Each new slice is saved as `pending` before it is queued.
use std::sync::Arc;
use std::time::Duration;

use teraslice_core::store::{SliceState, SliceStateRecord};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::engine::Event;
use super::state_writer::StateWriter;
use crate::ops::{Slice, Slicer, SlicerRecoveryData};

/// Teraslice's default `maxQueueLength`.
pub const MAX_QUEUE: usize = 10_000;
/// How soon a persistent slicer that had nothing is asked again.
const IDLE_POLL: Duration = Duration::from_millis(10);
/// A slicer that answers fast is asked again (while the queue has room) for up to this long or
/// [`BATCH_SLICES`] slices, so the new slices are saved as `pending` in one store write instead
/// of one write each. A slow slicer is asked once per write, as before.
const BATCH_TIME: Duration = Duration::from_millis(1);
const BATCH_SLICES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Run,
    Pause,
    Stop,
}

/// A slice saved as `pending`, waiting in the EC's queue.
pub struct QueuedSlice {
    pub slice: Slice,
    pub record: SliceStateRecord,
    /// Frees one place for the slicers when dropped (at dispatch).
    pub _permit: Option<OwnedSemaphorePermit>,
}

pub fn pending_record(ex_id: &str, slice: &Slice) -> SliceStateRecord {
    SliceStateRecord {
        slice_id: slice.slice_id.clone(),
        slicer_id: slice.slicer_id,
        slicer_order: slice.slicer_order,
        request: slice.request.to_string(),
        state: SliceState::Pending,
        ex_id: ex_id.to_string(),
        created: slice.created,
        updated: teraslice_core::time::now(),
        error: None,
        retry_count: None,
    }
}

#[derive(Clone)]
pub struct StreamContext {
    pub ex_id: String,
    pub once: bool,
    pub writer: StateWriter,
    pub events: mpsc::Sender<Event>,
    pub gate: watch::Receiver<Gate>,
    /// One per place in the queue ([`QueueRoom::capacity`] in all).
    pub permits: Arc<Semaphore>,
    pub room: QueueRoom,
    /// Per slicer, the `slicer_order` its first new slice follows (a recovery's last one).
    pub first_orders: Arc<std::collections::BTreeMap<u32, u64>>,
}

/// What bounds the queue for the slicers: its capacity (the permits), and the slicer's own
/// `max_queue_length` for the workers connected now.
#[derive(Clone)]
pub struct QueueRoom {
    pub capacity: usize,
    /// Workers connected to the EC (kept by the dispatch).
    pub workers: Arc<std::sync::atomic::AtomicUsize>,
}

impl QueueRoom {
    pub fn new(capacity: usize, workers: Arc<std::sync::atomic::AtomicUsize>) -> Self {
        QueueRoom { capacity, workers }
    }

    /// The slicer's limit now, between 1 and the capacity.
    fn limit(&self, slicer: &dyn Slicer) -> usize {
        let workers = self.workers.load(std::sync::atomic::Ordering::Relaxed);
        slicer
            .max_queue_length(workers)
            .clamp(1, self.capacity.max(1))
    }

    /// Slices waiting in the queue (or being made): the permits taken.
    fn occupied(&self, permits: &Semaphore) -> usize {
        self.capacity.saturating_sub(permits.available_permits())
    }
}

/// Starts every stream; stream `i` has `slicer_id = i`.
pub fn spawn_streams(
    tasks: &mut JoinSet<()>,
    slicers: Vec<Box<dyn Slicer>>,
    recovery: Vec<SlicerRecoveryData>,
    ctx: StreamContext,
) {
    for (i, slicer) in slicers.into_iter().enumerate() {
        let id = u32::try_from(i).unwrap_or(u32::MAX);
        let start = recovery.iter().find(|r| r.slicer_id == id).cloned();
        tasks.spawn(run_stream(id, slicer, start, ctx.clone()));
    }
}

/// Queues recovered slices (already saved as `pending`) through the same places as new ones:
/// the queue never holds more than [`MAX_QUEUE`] slices, however many are recovered.
pub fn spawn_recovered(tasks: &mut JoinSet<()>, slices: Vec<QueuedSlice>, ctx: StreamContext) {
    tasks.spawn(stream_recovered(slices, ctx));
}

async fn stream_recovered(slices: Vec<QueuedSlice>, mut ctx: StreamContext) {
    let mut slices = slices.into_iter().peekable();
    while slices.peek().is_some() {
        let mut gate = ctx.gate.clone();
        let first = tokio::select! {
            p = ctx.permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stopped(&mut gate) => return,
        };
        let mut batch = Vec::new();
        let mut permit = Some(first);
        while let Some(place) = permit.take() {
            let Some(mut q) = slices.next() else { break };
            q._permit = Some(place);
            batch.push(q);
            if batch.len() < BATCH_SLICES {
                permit = ctx.permits.clone().try_acquire_owned().ok();
            }
        }
        if !send_unless_stopped(&mut ctx, Event::Slices(batch)).await {
            return;
        }
    }
}

/// Waits until the gate says Run; false once it says Stop.
async fn wait_for_run(gate: &mut watch::Receiver<Gate>) -> bool {
    loop {
        match *gate.borrow_and_update() {
            Gate::Run => return true,
            Gate::Stop => return false,
            Gate::Pause => {}
        }
        if gate.changed().await.is_err() {
            return false;
        }
    }
}

async fn stopped(gate: &mut watch::Receiver<Gate>) {
    while *gate.borrow_and_update() != Gate::Stop {
        if gate.changed().await.is_err() {
            return;
        }
    }
}

async fn run_stream(
    id: u32,
    mut slicer: Box<dyn Slicer>,
    start: Option<SlicerRecoveryData>,
    mut ctx: StreamContext,
) {
    let outcome = stream_loop(id, slicer.as_mut(), start.as_ref(), &mut ctx).await;
    if let Err(e) = slicer.shutdown().await {
        tracing::warn!(slicer_id = id, error = %e, "slicer shutdown failed");
    }
    if let Some(event) = outcome {
        send_unless_stopped(&mut ctx, event).await;
    }
}

/// Sends to the engine, giving up once the execution is ending: the engine may have stopped
/// reading, and a full channel must not hold the slicer's shutdown.
async fn send_unless_stopped(ctx: &mut StreamContext, event: Event) -> bool {
    let mut gate = ctx.gate.clone();
    tokio::select! {
        sent = ctx.events.send(event) => sent.is_ok(),
        _ = stopped(&mut gate) => false,
    }
}

/// Returns the event that ends the stream (None when stopped).
async fn stream_loop(
    id: u32,
    slicer: &mut dyn Slicer,
    start: Option<&SlicerRecoveryData>,
    ctx: &mut StreamContext,
) -> Option<Event> {
    if let Err(e) = slicer.initialize(start).await {
        return Some(Event::SlicerFailed(id, format!("initialize: {e}")));
    }
    let mut order = ctx.first_orders.get(&id).copied().unwrap_or(0);
    loop {
        if !wait_for_run(&mut ctx.gate).await {
            return None;
        }
        let mut gate = ctx.gate.clone();
        let limit = ctx.room.limit(slicer);
        let permit = tokio::select! {
            p = acquire_with_room(&ctx.permits, ctx.room.capacity, limit) => p?,
            _ = stopped(&mut gate) => return None,
        };
        // Workers may have joined while we waited.
        let limit = ctx.room.limit(slicer);
        let result = tokio::select! {
            r = slicer.slice_many() => r,
            _ = stopped(&mut gate) => return None,
        };
        let requests = match result {
            Err(e) => return Some(Event::SlicerFailed(id, e.to_string())),
            Ok(None) if ctx.once => return Some(Event::SlicerFinished(id)),
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => continue,
                    _ = stopped(&mut gate) => return None,
                }
            }
            Ok(Some(requests)) => requests,
        };
        let mut queued = Vec::with_capacity(requests.len());
        push_slices(id, &mut order, ctx, &mut queued, permit, requests);
        // What ends the stream once the slices made so far are saved and queued.
        let mut end = None;
        let started = std::time::Instant::now();
        while queued.len() < BATCH_SLICES
            && started.elapsed() < BATCH_TIME
            && *ctx.gate.borrow() == Gate::Run
            && ctx.room.occupied(&ctx.permits) < limit
        {
            let Ok(permit) = ctx.permits.clone().try_acquire_owned() else {
                break;
            };
            let result = tokio::select! {
                r = slicer.slice_many() => r,
                _ = stopped(&mut gate) => return None,
            };
            match result {
                Err(e) => {
                    end = Some(Event::SlicerFailed(id, e.to_string()));
                    break;
                }
                Ok(None) => {
                    if ctx.once {
                        end = Some(Event::SlicerFinished(id));
                    }
                    break;
                }
                Ok(Some(requests)) => {
                    push_slices(id, &mut order, ctx, &mut queued, permit, requests);
                }
            }
        }
        if queued.is_empty() {
            if end.is_some() {
                return end;
            }
            continue;
        }
        let records = queued.iter().map(|q| q.record.clone()).collect();
        if let Err(e) = ctx.writer.write_and_wait(records).await {
            if ctx.once {
                return Some(Event::SlicerFailed(
                    id,
                    format!("could not save new slices as pending: {e}"),
                ));
            }
            // Teraslice only logs this in persistent mode; the slices are dropped.
            tracing::error!(slicer_id = id, error = %e, "could not save new slices as pending");
            if end.is_some() {
                return end;
            }
            continue;
        }
        if !send_unless_stopped(ctx, Event::Slices(queued)).await {
            return None;
        }
        if end.is_some() {
            return end;
        }
    }
}

/// One place in the queue, once the queue holds at most `limit - batch` slices, where `batch`
/// is [`BATCH_SLICES`] or half the limit if smaller: a full queue is topped up in batches (one
/// wake, one `pending` write and one engine event per batch) instead of one slice each time a
/// slice is dispatched, and never past the slicer's limit.
async fn acquire_with_room(
    permits: &Arc<Semaphore>,
    capacity: usize,
    limit: usize,
) -> Option<OwnedSemaphorePermit> {
    let batch = BATCH_SLICES.min((limit / 2).max(1));
    // Free places needed: everything above the limit, plus one batch below it.
    let room = capacity
        .saturating_sub(limit)
        .saturating_add(batch)
        .min(capacity);
    let room = u32::try_from(room.max(1)).unwrap_or(u32::MAX);
    drop(permits.acquire_many(room).await.ok()?);
    permits.clone().acquire_owned().await.ok()
}

/// Turns one `slice_many` answer into queued slices; the first holds the call's permit.
fn push_slices(
    id: u32,
    order: &mut u64,
    ctx: &StreamContext,
    queued: &mut Vec<QueuedSlice>,
    permit: OwnedSemaphorePermit,
    requests: Vec<crate::ops::SliceRequest>,
) {
    let mut permit = Some(permit);
    for request in requests {
        *order += 1;
        let slice = Slice::new(id, *order, request);
        let record = pending_record(&ctx.ex_id, &slice);
        queued.push(QueuedSlice {
            slice,
            record,
            _permit: permit.take(),
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use teraslice_core::store::MemoryStore;

    use super::super::store_retry::StoreRetry;
    use super::*;

    fn recovered(n: u64) -> Vec<QueuedSlice> {
        (1..=n)
            .map(|i| {
                let slice = Slice::new(0, i, json!({ "i": i }));
                let record = pending_record("ex", &slice);
                QueuedSlice {
                    slice,
                    record,
                    _permit: None,
                }
            })
            .collect()
    }

    /// A stream context over an in-memory store with `places` queue places, its event
    /// receiver and its (open) gate.
    fn stream_context(
        once: bool,
        places: usize,
        workers: Arc<std::sync::atomic::AtomicUsize>,
    ) -> (StreamContext, mpsc::Receiver<Event>, watch::Sender<Gate>) {
        let store = Arc::new(MemoryStore::new());
        let retry = Arc::new(StoreRetry::new(Duration::from_secs(5)));
        let (failures, _) = mpsc::unbounded_channel();
        let (writer, _) = StateWriter::spawn(store, retry, 1000, failures);
        let (events, rx) = mpsc::channel(16);
        let (gate_tx, gate) = watch::channel(Gate::Run);
        let ctx = StreamContext {
            ex_id: "ex".into(),
            once,
            writer,
            events,
            gate,
            permits: Arc::new(Semaphore::new(places)),
            room: QueueRoom::new(places, workers),
            first_orders: Default::default(),
        };
        (ctx, rx, gate_tx)
    }

    /// Recovered slices enter the queue only as places free up, in their order.
    #[tokio::test]
    async fn recovered_slices_stream_through_the_queue_places() {
        let places = 4;
        let workers = Arc::new(std::sync::atomic::AtomicUsize::new(1));
        let (ctx, mut rx, _gate_tx) = stream_context(true, places, workers);
        let slices = recovered(10);
        let expected: Vec<String> = slices.iter().map(|q| q.slice.slice_id.clone()).collect();
        let mut tasks = JoinSet::new();
        spawn_recovered(&mut tasks, slices, ctx.clone());
        let mut queued: Vec<QueuedSlice> = Vec::new();
        let mut order = Vec::new();
        let mut dispatched = 0;
        while dispatched < expected.len() {
            // The stream fills every free place, then waits: nothing more is sent.
            let target = places.min(expected.len() - dispatched);
            while queued.len() < target {
                let Some(Event::Slices(batch)) = rx.recv().await else {
                    panic!("the stream ended or sent something else");
                };
                order.extend(batch.iter().map(|q| q.slice.slice_id.clone()));
                queued.extend(batch);
            }
            assert_eq!(queued.len(), target);
            assert!(
                rx.try_recv().is_err(),
                "more slices than places were queued"
            );
            // Dispatch one: its place goes back to the stream.
            queued.remove(0);
            dispatched += 1;
        }
        assert_eq!(order, expected);
        while tasks.join_next().await.is_some() {}
    }

    /// Endless slicer that allows 3 queued slices per connected worker (as data_generator).
    struct ThreePerWorker;

    #[async_trait::async_trait]
    impl Slicer for ThreePerWorker {
        async fn slice(&mut self) -> Result<Option<crate::ops::SliceRequest>, crate::ops::OpError> {
            Ok(Some(json!({ "count": 1 })))
        }
        fn max_queue_length(&self, workers_connected: usize) -> usize {
            workers_connected * 3
        }
    }

    /// Slices received from the stream until none comes for a while.
    async fn drain(rx: &mut mpsc::Receiver<Event>, into: &mut Vec<QueuedSlice>) {
        while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
            if let Event::Slices(batch) = ev {
                into.extend(batch);
            }
        }
    }

    /// The slicer's `max_queue_length` bounds the queue, not only the queue's capacity: with 2
    /// workers, 6 slices wait and no more; places freed below the limit are topped up in a batch.
    #[tokio::test]
    async fn the_slicers_queue_limit_bounds_the_slices_made_ahead() {
        let workers = Arc::new(std::sync::atomic::AtomicUsize::new(2));
        let (ctx, mut rx, _gate_tx) = stream_context(false, MAX_QUEUE, workers.clone());
        let mut tasks = JoinSet::new();
        spawn_streams(&mut tasks, vec![Box::new(ThreePerWorker)], Vec::new(), ctx);
        let mut queued = Vec::new();
        drain(&mut rx, &mut queued).await;
        assert_eq!(queued.len(), 6, "3 per connected worker");
        // Two dispatched: 4 wait, more than the batch below the limit (3) — nothing new.
        queued.truncate(4);
        drain(&mut rx, &mut queued).await;
        assert_eq!(queued.len(), 4);
        // One more dispatched: 3 wait, the queue is topped up to the limit again.
        queued.truncate(3);
        drain(&mut rx, &mut queued).await;
        assert_eq!(queued.len(), 6);
        // A third worker joins and takes a slice: the queue is topped up to the new limit, 9.
        workers.store(3, std::sync::atomic::Ordering::Relaxed);
        queued.truncate(3);
        drain(&mut rx, &mut queued).await;
        assert_eq!(queued.len(), 9);
        tasks.abort_all();
    }
}
