//! The dispatch state: slice queue, workers, idle queue and in-flight slices. It sits behind
//! a short lock shared by the engine and the worker sessions, so a session answers a plain
//! report and hands out the worker's next slice itself, without a hop through the engine task
//! (the engine keeps everything that is slow or decides the execution's fate).
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use teraslice_core::store::{AnalyticsRecord, SliceState, SliceStateRecord};
use tokio::sync::Notify;

use super::super::analytics::{ExecutionAnalytics, OpStats};
use super::super::slicers::{QueuedSlice, MAX_QUEUE};
use super::super::state_writer::StateWriter;
use super::super::store_retry::StoreRetry;
use crate::ops::Slice;
use crate::protocol::{Message, Peer, SliceReport};

/// The dispatch state and the engine's wake-up, as the worker sessions see them.
#[derive(Clone)]
pub struct SharedDispatch {
    state: Arc<Mutex<Dispatch>>,
    /// Wakes the engine after a session changed something it waits for (no slice in flight).
    pub wake: Arc<Notify>,
}

impl SharedDispatch {
    pub fn new(dispatch: Dispatch) -> Self {
        SharedDispatch {
            state: Arc::new(Mutex::new(dispatch)),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Held only for bookkeeping, never across an await.
    pub fn lock(&self) -> MutexGuard<'_, Dispatch> {
        // A panic while holding it leaves consistent-enough state for the shutdown path.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A plain report (no error, not recovering) from a worker on its current connection:
    /// recorded and answered here. `None`: the engine must handle it.
    pub fn answer_report(
        &self,
        worker_id: &str,
        conn: u64,
        report: &SliceReport,
    ) -> Option<Option<Slice>> {
        let (next, wake) = {
            let mut d = self.lock();
            let current = d.workers.get(worker_id).is_some_and(|s| s.conn == conn);
            if report.error.is_some() || d.recovering.is_some() || !current {
                return None;
            }
            d.record_report(worker_id, report);
            let next = d.hand_out(worker_id, conn);
            if next.is_none() {
                d.mark_idle(worker_id.to_string(), conn);
            }
            (next, d.in_flight.is_empty())
        };
        if wake {
            self.wake.notify_one();
        }
        Some(next)
    }
}

pub struct WorkerSlot {
    pub conn: u64,
    pub peer: Peer,
    pub busy_with: Option<String>,
}

pub struct InFlight {
    pub record: SliceStateRecord,
    pub slice: Slice,
    pub worker_id: String,
    pub conn: u64,
}

/// What the analytics records of a report need from the execution.
pub struct AnalyticsContext {
    pub enabled: bool,
    pub ex_id: String,
    pub job_id: String,
    pub ops: Vec<String>,
}

/// What a report did, for the engine's failure rules.
pub enum Recorded {
    /// Another copy of the slice was reported first (or it is unknown).
    Duplicate,
    Completed,
    Failed {
        slice_id: String,
        error: String,
    },
}

pub struct Dispatch {
    pub queue: VecDeque<QueuedSlice>,
    pub workers: HashMap<String, WorkerSlot>,
    pub idle: VecDeque<String>,
    pub in_flight: HashMap<String, InFlight>,
    pub stats: ExecutionAnalytics,
    pub op_stats: OpStats,
    /// Recovered slices not finished yet; `Some` while recovering.
    pub recovering: Option<HashSet<String>>,
    pub paused: bool,
    /// The execution is stopping or failed: nothing is handed out or re-queued.
    pub ending: bool,
    /// Slices no longer queued or in flight because the execution is ending (queued, lost with
    /// their worker, or refused): a late report of one (a worker that ran it on an earlier
    /// connection) is still recorded.
    pub orphaned: HashMap<String, SliceStateRecord>,
    /// `workers.len()`, readable without the lock (the slicer streams' queue limit).
    pub connected: Arc<AtomicUsize>,
    writer: StateWriter,
    retry: Arc<StoreRetry>,
    analytics: AnalyticsContext,
}

impl Dispatch {
    pub fn new(writer: StateWriter, retry: Arc<StoreRetry>, analytics: AnalyticsContext) -> Self {
        Dispatch {
            // Sized for a full queue up front: growing it copies every queued slice.
            queue: VecDeque::with_capacity(MAX_QUEUE),
            workers: HashMap::new(),
            idle: VecDeque::new(),
            in_flight: HashMap::new(),
            stats: ExecutionAnalytics::default(),
            op_stats: OpStats::default(),
            recovering: None,
            paused: false,
            ending: false,
            orphaned: HashMap::new(),
            connected: Arc::new(AtomicUsize::new(0)),
            writer,
            retry,
            analytics,
        }
    }

    pub fn enqueue(&mut self, slices: Vec<QueuedSlice>) {
        self.queue.extend(slices);
        self.stats.queued = self.queue.len() as u64;
    }

    /// Queues `message` for every connected worker without waiting; returns how many.
    pub fn tell_workers(&self, message: &Message) -> usize {
        for (worker_id, slot) in &self.workers {
            if let Err(e) = slot.peer.send_now(message.clone()) {
                tracing::warn!(worker_id = %worker_id, error = %e, "notice not sent");
            }
        }
        self.workers.len()
    }

    /// A worker said hello (again, after a reconnect: its old connection's slice is re-queued).
    pub fn joined(&mut self, worker_id: String, conn: u64, peer: Peer) {
        if let Some(old) = self.workers.remove(&worker_id) {
            self.stats.workers_reconnected += 1;
            self.release(&worker_id, old.busy_with);
        } else {
            self.stats.workers_joined += 1;
        }
        tracing::info!(worker_id = %worker_id, "worker connected");
        if self.ending {
            // A fresh connection's queue is empty: this cannot be refused for room.
            let _ = peer.send_now(Message::Shutdown);
        }
        self.workers.insert(
            worker_id,
            WorkerSlot {
                conn,
                peer,
                busy_with: None,
            },
        );
        self.connected.store(self.workers.len(), Ordering::Relaxed);
    }

    /// The connection `conn` of the worker closed; true when no worker is left.
    pub fn left(&mut self, worker_id: &str, conn: u64) -> bool {
        if self.workers.get(worker_id).is_none_or(|s| s.conn != conn) {
            return false;
        }
        let slot = self.workers.remove(worker_id);
        self.connected.store(self.workers.len(), Ordering::Relaxed);
        self.idle.retain(|w| w != worker_id);
        self.stats.workers_disconnected += 1;
        tracing::info!(worker_id, "worker disconnected");
        self.release(worker_id, slot.and_then(|s| s.busy_with));
        self.workers.is_empty()
    }

    /// A worker lost its slice (gone, or replaced by its own reconnect): put the slice back at
    /// the front of the queue so another worker gets it (Teraslice never did this).
    pub fn release(&mut self, worker_id: &str, slice_id: Option<String>) {
        let Some(slice_id) = slice_id else { return };
        let Some(f) = self.in_flight.remove(&slice_id) else {
            return;
        };
        if self.ending {
            // Nothing is dispatched any more; the record keeps its last state.
            self.orphaned.insert(slice_id, f.record);
            return;
        }
        tracing::warn!(worker_id, slice_id = %slice_id, "re-dispatching the slice of a lost worker");
        let mut record = f.record;
        if record.state != SliceState::Pending {
            // Back in the queue: `pending` again until another worker accepts it.
            record.state = SliceState::Pending;
            record.updated = teraslice_core::time::now();
            self.writer.write(vec![record.clone()]);
        }
        self.queue.push_front(QueuedSlice {
            slice: f.slice,
            record,
            _permit: None,
        });
        self.stats.queued = self.queue.len() as u64;
    }

    /// Queues the worker for the next slice if it is connected on `conn`, holds no slice and
    /// is not queued already.
    pub fn mark_idle(&mut self, worker_id: String, conn: u64) {
        let Some(slot) = self.workers.get(&worker_id) else {
            return;
        };
        if slot.conn == conn && slot.busy_with.is_none() && !self.idle.contains(&worker_id) {
            self.idle.push_back(worker_id);
        }
    }

    /// The worker will not run the slice it was sent: back to the head of the queue.
    pub fn refused(&mut self, worker_id: &str, conn: u64, slice_id: &str) {
        // The worker holds nothing now, even when another worker's report of the slice came
        // first (else it would stay booked and never get work again on this connection).
        if let Some(slot) = self.workers.get_mut(worker_id) {
            if slot.conn == conn && slot.busy_with.as_deref() == Some(slice_id) {
                slot.busy_with = None;
            }
        }
        let sent_there = self
            .in_flight
            .get(slice_id)
            .is_some_and(|f| f.worker_id == worker_id && f.conn == conn);
        if !sent_there {
            return;
        }
        tracing::debug!(worker_id, slice_id, "slice refused by its worker");
        if self.ending {
            // Not re-queued any more, but it never ran: `pending` again, as before it was sent.
            if let Some(f) = self.in_flight.remove(slice_id) {
                let mut record = f.record;
                record.state = SliceState::Pending;
                record.updated = teraslice_core::time::now();
                self.writer.write(vec![record.clone()]);
                self.orphaned.insert(slice_id.to_string(), record);
            }
        } else {
            self.release(worker_id, Some(slice_id.to_string()));
        }
    }

    /// Whether slices may be handed out now.
    pub fn may_dispatch(&self) -> bool {
        !self.paused && !self.ending && !self.retry.is_down()
    }

    /// Books the next queued slice for the worker connected on `conn` if it holds none, and
    /// records it `start`; the caller sends it.
    pub fn hand_out(&mut self, worker_id: &str, conn: u64) -> Option<Slice> {
        if !self.may_dispatch() {
            return None;
        }
        let slot = self.workers.get_mut(worker_id)?;
        if slot.conn != conn || slot.busy_with.is_some() {
            return None;
        }
        let q = self.queue.pop_front()?;
        slot.busy_with = Some(q.slice.slice_id.clone());
        let mut record = q.record;
        record.state = SliceState::Start;
        record.updated = teraslice_core::time::now();
        self.writer.write(vec![record.clone()]);
        let slice = q.slice.clone();
        self.in_flight.insert(
            q.slice.slice_id.clone(),
            InFlight {
                record,
                slice: q.slice,
                worker_id: worker_id.to_string(),
                conn,
            },
        );
        self.stats.queued = self.queue.len() as u64;
        Some(slice)
    }

    /// Hands queued slices to idle workers (`execution:slice:new`).
    pub fn dispatch(&mut self) {
        if !self.may_dispatch() {
            return;
        }
        while !self.queue.is_empty() {
            let Some(worker_id) = self.idle.pop_front() else {
                break;
            };
            let Some(conn) = self.workers.get(&worker_id).map(|s| s.conn) else {
                continue;
            };
            let Some(slice) = self.hand_out(&worker_id, conn) else {
                continue;
            };
            let Some(peer) = self.workers.get(&worker_id).map(|s| s.peer.clone()) else {
                continue;
            };
            if let Err(e) = peer.send_now(Message::SliceNew(slice)) {
                // The session is closing; its `Left` event puts the slice back in the queue.
                tracing::debug!(worker_id = %worker_id, error = %e, "slice not sent");
            }
        }
        self.stats.queued = self.queue.len() as u64;
    }

    /// Records a report: state record, counters, analytics. The failure rules are the
    /// engine's (see [`Recorded::Failed`]).
    pub fn record_report(&mut self, worker_id: &str, report: &SliceReport) -> Recorded {
        let slice_id = report.slice_id.as_str();
        if let Some(slot) = self.workers.get_mut(worker_id) {
            if slot.busy_with.as_deref() == Some(slice_id) {
                slot.busy_with = None;
            }
        }
        // First report wins: the slice may have been re-dispatched after its worker vanished.
        let record = if let Some(f) = self.in_flight.remove(slice_id) {
            if f.worker_id != worker_id {
                // The re-dispatched copy still runs there; its report will be a duplicate.
                tracing::debug!(slice_id, other = %f.worker_id, "slice reported by its earlier worker first");
            }
            f.record
        } else if let Some(q) = self
            .queue
            .iter()
            .position(|q| q.slice.slice_id == slice_id)
            .and_then(|pos| self.queue.remove(pos))
        {
            q.record
        } else if let Some(record) = self.orphaned.remove(slice_id) {
            record
        } else {
            tracing::info!(worker_id, slice_id, "duplicate slice report ignored");
            return Recorded::Duplicate;
        };
        let mut record = record;
        record.updated = teraslice_core::time::now();
        record.retry_count = (report.retry_count > 0).then_some(report.retry_count);
        record.state = if report.error.is_some() {
            SliceState::Error
        } else {
            SliceState::Completed
        };
        record.error = report.error.clone();
        let slicer_id = record.slicer_id;
        self.writer.write(vec![record]);
        self.stats.processed += 1;
        if let Some(recovering) = self.recovering.as_mut() {
            recovering.remove(slice_id);
        }
        let outcome = match &report.error {
            None => {
                if let Some(a) = &report.analytics {
                    self.op_stats.add(a);
                    let read = a.size.first().copied().unwrap_or(0);
                    self.stats.records += u64::try_from(read).unwrap_or(0);
                    if self.analytics.enabled {
                        let records = self.analytics_records(worker_id, slicer_id, report);
                        self.writer.write_analytics(records);
                    }
                }
                Recorded::Completed
            }
            Some(err) => {
                self.stats.failed += 1;
                tracing::warn!(worker_id, slice_id, error = %err, "slice failed");
                Recorded::Failed {
                    slice_id: slice_id.to_string(),
                    error: err.clone(),
                }
            }
        };
        outcome
    }

    pub fn analytics_records(
        &self,
        worker_id: &str,
        slicer_id: u32,
        report: &SliceReport,
    ) -> Vec<AnalyticsRecord> {
        let Some(a) = &report.analytics else {
            return Vec::new();
        };
        let now = teraslice_core::time::now();
        self.analytics
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| AnalyticsRecord {
                timestamp: now,
                ex_id: self.analytics.ex_id.clone(),
                job_id: self.analytics.job_id.clone(),
                worker_id: worker_id.to_string(),
                slice_id: report.slice_id.clone(),
                slicer_id,
                op: op.clone(),
                order: u32::try_from(i).unwrap_or(u32::MAX),
                count: a.size.get(i).copied().unwrap_or(-1),
                time: a.time.get(i).copied().unwrap_or(-1),
                memory: a.memory.get(i).copied().unwrap_or(0),
                state: "completed".into(),
            })
            .collect()
    }

    /// The counters, with the worker counts of this moment (counted here, when someone reads
    /// them, rather than on every slice: that walked every worker under the lock).
    pub fn snapshot(&self) -> ExecutionAnalytics {
        let mut stats = self.stats.clone();
        stats.workers_available = self.idle.len() as u64;
        stats.workers_active = self
            .workers
            .values()
            .filter(|w| w.busy_with.is_some())
            .count() as u64;
        stats
    }

    /// Stop handing out; what is queued stays `pending` in the store. True if slices were
    /// still queued.
    pub fn close(&mut self) -> bool {
        self.ending = true;
        let had_queued = !self.queue.is_empty();
        for q in self.queue.drain(..) {
            self.orphaned.insert(q.slice.slice_id, q.record);
        }
        self.stats.queued = 0;
        had_queued
    }

    pub fn peers(&self) -> Vec<Peer> {
        self.workers.values().map(|s| s.peer.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use teraslice_core::store::{MemoryStore, SliceQuery, StateStore};
    use tokio::sync::mpsc;

    use super::super::super::slicers::pending_record;
    use super::*;

    struct Fixture {
        d: SharedDispatch,
        store: Arc<MemoryStore>,
        writer: StateWriter,
        slices: Vec<Slice>,
        _outbox: crate::protocol::Outbox,
    }

    /// Worker "w" joined on connection 1 and runs the first of three queued slices.
    fn fixture() -> Fixture {
        let store = Arc::new(MemoryStore::new());
        let retry = Arc::new(StoreRetry::new(Duration::from_secs(5)));
        let (failures, _) = mpsc::unbounded_channel();
        let (writer, _) = StateWriter::spawn(store.clone(), retry.clone(), 1000, failures);
        let analytics = AnalyticsContext {
            enabled: false,
            ex_id: "ex".into(),
            job_id: "job".into(),
            ops: vec!["test-reader".into(), "noop".into()],
        };
        let d = SharedDispatch::new(Dispatch::new(writer.clone(), retry, analytics));
        let slices: Vec<Slice> = (1..=3)
            .map(|i| Slice::new(0, i, json!({ "i": i })))
            .collect();
        let (peer, outbox) = crate::protocol::outbox();
        {
            let mut g = d.lock();
            g.enqueue(
                slices
                    .iter()
                    .map(|s| QueuedSlice {
                        slice: s.clone(),
                        record: pending_record("ex", s),
                        _permit: None,
                    })
                    .collect(),
            );
            g.joined("w".into(), 1, peer);
            let first = g.hand_out("w", 1).map(|s| s.slice_id);
            assert_eq!(first.as_deref(), Some(slices[0].slice_id.as_str()));
        }
        Fixture {
            d,
            store,
            writer,
            slices,
            _outbox: outbox,
        }
    }

    fn done(slice: &Slice) -> SliceReport {
        SliceReport {
            slice_id: slice.slice_id.clone(),
            analytics: None,
            error: None,
            retry_count: 0,
        }
    }

    async fn state_of(f: &Fixture, slice: &Slice) -> Option<SliceState> {
        f.writer.flush().await;
        let all = f.store.list_slice_states(&SliceQuery::all("ex")).await;
        all.ok()?
            .into_iter()
            .find(|r| r.slice_id == slice.slice_id)
            .map(|r| r.state)
    }

    #[tokio::test]
    async fn a_plain_report_is_recorded_and_answered_with_the_next_slice() {
        let f = fixture();
        let next = f.d.answer_report("w", 1, &done(&f.slices[0]));
        let next_id = next.flatten().map(|s| s.slice_id);
        assert_eq!(next_id.as_deref(), Some(f.slices[1].slice_id.as_str()));
        assert_eq!(
            state_of(&f, &f.slices[0]).await,
            Some(SliceState::Completed)
        );
        assert_eq!(state_of(&f, &f.slices[1]).await, Some(SliceState::Start));
        let stats = f.d.lock().stats.clone();
        assert_eq!((stats.processed, stats.queued), (1, 1));
    }

    #[tokio::test]
    async fn failures_old_connections_and_recovery_are_left_to_the_engine() {
        let f = fixture();
        let failed = SliceReport {
            error: Some("boom".into()),
            ..done(&f.slices[0])
        };
        assert!(f.d.answer_report("w", 1, &failed).is_none());
        assert!(f.d.answer_report("w", 2, &done(&f.slices[0])).is_none());
        assert!(f.d.answer_report("other", 1, &done(&f.slices[0])).is_none());
        f.d.lock().recovering = Some(std::collections::HashSet::new());
        assert!(f.d.answer_report("w", 1, &done(&f.slices[0])).is_none());
        // Nothing was recorded or handed out by the refused attempts.
        assert_eq!(state_of(&f, &f.slices[0]).await, Some(SliceState::Start));
        assert_eq!(f.d.lock().queue.len(), 2);
    }

    #[tokio::test]
    async fn answering_the_last_slice_in_flight_idles_the_worker_and_wakes_the_engine() {
        let f = fixture();
        let busy = f.d.lock().snapshot();
        assert_eq!((busy.workers_active, busy.workers_available), (1, 0));
        f.d.lock().close();
        let next = f.d.answer_report("w", 1, &done(&f.slices[0]));
        let idle = f.d.lock().snapshot();
        assert_eq!((idle.workers_active, idle.workers_available), (0, 1));
        // Closed: recorded, but nothing more handed out; the worker is idle.
        assert_eq!(next, Some(None));
        assert_eq!(
            state_of(&f, &f.slices[0]).await,
            Some(SliceState::Completed)
        );
        let woke = tokio::time::timeout(Duration::from_secs(5), f.d.wake.notified()).await;
        assert!(woke.is_ok(), "the engine was not woken");
    }
}
