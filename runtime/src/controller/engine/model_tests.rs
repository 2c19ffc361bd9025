//! Model-based test of the dispatch invariants (docs/runtime.md, "Dispatch invariants"): random
//! interleavings of joins, reconnects, `client:available`, slice reports (on the sessions' fast
//! path and through the engine, first reports and late duplicates), refusals, disconnects, new
//! slices, the end of slicing, a stop (by the user at the EC or by the master) and the shutdown
//! run against the real engine (`Engine::handle`, `SharedDispatch::answer_report`,
//! `Dispatch::dispatch`, `Engine::shutdown_workers`, `Engine::finish`) and the real store rules,
//! and checked after every step against a small reference model of where each slice is.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{MemoryStore, SliceQuery, SliceState, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobConfig};
use tokio::sync::{mpsc, oneshot, watch};

use super::super::handle::Control;
use super::super::slicers::{pending_record, Gate, QueuedSlice};
use super::super::state_writer::StateWriter;
use super::super::store_retry::StoreRetry;
use super::{Engine, Event};
use crate::ops::Slice;
use crate::protocol::{outbox, Envelope, Message, Outbox, SliceReport};
use crate::timeouts::RuntimeTimeouts;

const WORKERS: usize = 3;

#[derive(Debug, Clone)]
enum Step {
    /// Connects (a reconnect when connected: the new session's `Joined` comes before the old
    /// one's `Left`), then says `client:available`.
    Join(usize),
    Leave(usize),
    Available(usize),
    /// Reports the slice it holds on its connection.
    Report {
        worker: usize,
        fast: bool,
        error: bool,
    },
    /// Re-sends the report of a slice it ran on an earlier connection (while it holds none).
    ResendOld {
        worker: usize,
        fast: bool,
    },
    Refuse(usize),
    Slices(usize),
    SlicerDone,
    Stop {
        by_master: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let w = 0..WORKERS;
    prop_oneof![
        3 => w.clone().prop_map(Step::Join),
        2 => w.clone().prop_map(Step::Leave),
        2 => w.clone().prop_map(Step::Available),
        8 => (w.clone(), any::<bool>(), prop::bool::weighted(0.15))
            .prop_map(|(worker, fast, error)| Step::Report { worker, fast, error }),
        2 => (w.clone(), any::<bool>()).prop_map(|(worker, fast)| Step::ResendOld { worker, fast }),
        2 => w.clone().prop_map(Step::Refuse),
        3 => (1..4usize).prop_map(Step::Slices),
        1 => Just(Step::SlicerDone),
        1 => any::<bool>().prop_map(|by_master| Step::Stop { by_master }),
    ]
}

/// A worker as the engine sees it: a connection, the frames it got, the slice it runs.
#[derive(Default)]
struct FakeWorker {
    conn: Option<u64>,
    outbox: Option<Outbox>,
    /// Handed to it on its current connection and not reported or refused yet.
    holds: Option<String>,
    /// Run on an earlier connection; the report was not delivered.
    unreported: Vec<String>,
    /// Id of the last frame read on the current connection (frames must not reorder).
    last_frame: u64,
}

/// Where the reference model says each slice is, and what its record must say.
#[derive(Default)]
struct Model {
    record: BTreeMap<String, SliceState>,
    queued: HashSet<String>,
    sent: HashMap<String, (String, u64)>,
    done: HashSet<String>,
    ending: bool,
    stop: Option<bool>,
    interrupted: bool,
    slicer_done: bool,
}

impl Model {
    /// A slice went back because its connection was lost (closed or replaced).
    fn lost(&mut self, worker: &str, conn: u64) {
        let lost: Vec<String> = self
            .sent
            .iter()
            .filter(|(_, (w, c))| w == worker && *c == conn)
            .map(|(s, _)| s.clone())
            .collect();
        for s in lost {
            self.sent.remove(&s);
            if !self.ending {
                self.record.insert(s.clone(), SliceState::Pending);
                self.queued.insert(s);
            }
        }
    }

    /// The first report of a slice wins; later ones change nothing.
    fn reported(&mut self, slice: &str, error: bool) {
        if !self.done.insert(slice.to_string()) {
            return;
        }
        self.sent.remove(slice);
        self.queued.remove(slice);
        let state = if error {
            SliceState::Error
        } else {
            SliceState::Completed
        };
        self.record.insert(slice.to_string(), state);
    }
}

struct Sim {
    engine: Engine,
    store: Arc<MemoryStore>,
    workers: Vec<FakeWorker>,
    model: Model,
    next_conn: u64,
    next_order: u64,
}

fn job() -> JobConfig {
    let spec = json!({
        "name": "model", "lifecycle": "once", "active": true, "analytics": false,
        "assets": null, "autorecover": false, "max_retries": 0,
        "operations": [{"_op": "test-reader"}, {"_op": "noop"}],
        "apis": [], "probation_window": 300000, "slicers": 1, "workers": 3,
        "stateful": false, "labels": null, "env_vars": {}, "log_level": null
    });
    match serde_json::from_value(spec) {
        Ok(job) => job,
        Err(e) => panic!("test job: {e}"),
    }
}

fn name(i: usize) -> String {
    format!("w{i}")
}

impl Sim {
    async fn new() -> Sim {
        let store = Arc::new(MemoryStore::new());
        let ex = ExecutionRecord::new("job", job());
        let created = store.create_execution(&ex).await;
        assert!(created.is_ok(), "{created:?}");
        let running = store
            .set_execution_status(
                &ex.ex_id,
                ExecutionStatus::Running,
                &StatusUpdate::default(),
            )
            .await;
        assert!(running.is_ok(), "{running:?}");
        let retry = Arc::new(StoreRetry::new(Duration::from_secs(5)));
        let (failures, _) = mpsc::unbounded_channel();
        let (writer, _) = StateWriter::spawn(store.clone(), retry.clone(), 100_000, failures);
        let (gate, _) = watch::channel(Gate::Run);
        let engine = Engine::new(
            ex,
            store.clone(),
            writer,
            retry,
            RuntimeTimeouts::default(),
            gate,
            ExecutionStatus::Running,
        );
        Sim {
            engine,
            store,
            workers: (0..WORKERS).map(|_| FakeWorker::default()).collect(),
            model: Model::default(),
            next_conn: 1,
            next_order: 1,
        }
    }

    async fn run(&mut self, step: &Step) {
        match *step {
            Step::Join(i) => self.join(i).await,
            Step::Leave(i) => {
                let Some(conn) = self.workers[i].conn.take() else {
                    return;
                };
                let w = &mut self.workers[i];
                w.outbox = None;
                w.unreported.extend(w.holds.take());
                self.engine
                    .handle(Event::Left {
                        worker_id: name(i),
                        conn,
                    })
                    .await;
                self.model.lost(&name(i), conn);
            }
            Step::Available(i) => {
                if let Some(conn) = self.workers[i].conn {
                    let worker_id = name(i);
                    self.engine
                        .handle(Event::Available { worker_id, conn })
                        .await;
                }
            }
            Step::Report {
                worker,
                fast,
                error,
            } => {
                let Some(slice) = self.workers[worker].holds.take() else {
                    return;
                };
                self.report(worker, slice, fast, error).await;
            }
            Step::ResendOld { worker, fast } => {
                let w = &mut self.workers[worker];
                if w.holds.is_some() {
                    return;
                }
                let Some(slice) = w.unreported.pop() else {
                    return;
                };
                self.report(worker, slice, fast, false).await;
            }
            Step::Refuse(i) => {
                let (Some(conn), Some(slice_id)) =
                    (self.workers[i].conn, self.workers[i].holds.take())
                else {
                    return;
                };
                let worker_id = name(i);
                self.engine
                    .handle(Event::Refused {
                        worker_id: worker_id.clone(),
                        conn,
                        slice_id: slice_id.clone(),
                    })
                    .await;
                if self.model.sent.get(&slice_id) == Some(&(worker_id, conn)) {
                    self.model.sent.remove(&slice_id);
                    self.model
                        .record
                        .insert(slice_id.clone(), SliceState::Pending);
                    if !self.model.ending {
                        self.model.queued.insert(slice_id);
                    }
                }
            }
            Step::Slices(n) => self.slices(n).await,
            Step::SlicerDone => {
                if self.model.slicer_done || self.model.ending {
                    return;
                }
                self.model.slicer_done = true;
                self.engine.handle(Event::SlicerFinished(0)).await;
            }
            Step::Stop { by_master } => {
                if self.model.stop.is_some() {
                    return;
                }
                if by_master {
                    let ex_id = self.engine.ex.ex_id.clone();
                    let stopping = self
                        .store
                        .set_execution_status(
                            &ex_id,
                            ExecutionStatus::Stopping,
                            &StatusUpdate::default(),
                        )
                        .await;
                    assert!(stopping.is_ok(), "{stopping:?}");
                }
                let (tx, _rx) = oneshot::channel();
                self.engine.handle(Event::Control(Control::Stop(tx))).await;
                let m = &mut self.model;
                m.stop = Some(by_master);
                m.interrupted = !m.slicer_done || !m.queued.is_empty();
                m.ending = true;
                m.queued.clear();
            }
        }
        // The engine's loop dispatches after every event.
        self.engine.d.lock().dispatch();
        self.read_frames();
        self.check();
    }

    async fn join(&mut self, i: usize) {
        let conn = self.next_conn;
        self.next_conn += 1;
        let (peer, outbox) = outbox();
        let worker_id = name(i);
        let w = &mut self.workers[i];
        let old = w.conn.replace(conn);
        w.outbox = Some(outbox);
        w.last_frame = 0;
        w.unreported.extend(w.holds.take());
        self.engine
            .handle(Event::Joined {
                worker_id: worker_id.clone(),
                conn,
                peer,
            })
            .await;
        if let Some(old) = old {
            self.model.lost(&worker_id, old);
            let late = Event::Left {
                worker_id: worker_id.clone(),
                conn: old,
            };
            self.engine.handle(late).await;
        }
        self.engine
            .handle(Event::Available { worker_id, conn })
            .await;
    }

    async fn report(&mut self, i: usize, slice_id: String, fast: bool, error: bool) {
        let Some(conn) = self.workers[i].conn else {
            self.workers[i].unreported.push(slice_id);
            return;
        };
        let worker_id = name(i);
        let report = SliceReport {
            slice_id: slice_id.clone(),
            analytics: None,
            error: error.then(|| "boom".to_string()),
            retry_count: 0,
        };
        self.model.reported(&slice_id, error);
        if fast {
            // What a session does with a plain report; `None` sends it to the engine.
            if let Some(next) = self.engine.d.answer_report(&worker_id, conn, &report) {
                if let Some(next) = next {
                    self.handed(i, conn, &next.slice_id);
                }
                return;
            }
        }
        let Some(peer) = self
            .engine
            .d
            .lock()
            .workers
            .get(&worker_id)
            .map(|s| s.peer.clone())
        else {
            panic!("{worker_id} is connected but has no slot");
        };
        self.engine
            .handle(Event::Report {
                worker_id,
                conn,
                report,
                request_id: 1,
                peer,
            })
            .await;
    }

    async fn slices(&mut self, n: usize) {
        if self.model.slicer_done {
            return;
        }
        let ex_id = self.engine.ex.ex_id.clone();
        let mut queued = Vec::new();
        for _ in 0..n {
            let slice = Slice::new(0, self.next_order, json!({ "n": self.next_order }));
            self.next_order += 1;
            let record = pending_record(&ex_id, &slice);
            self.model
                .record
                .insert(slice.slice_id.clone(), SliceState::Pending);
            if !self.model.ending {
                self.model.queued.insert(slice.slice_id.clone());
            }
            queued.push(QueuedSlice {
                slice,
                record,
                _permit: None,
            });
        }
        // As a slicer stream does: saved as `pending` before it is queued.
        let records = queued.iter().map(|q| q.record.clone()).collect();
        let saved = self.engine.writer.write_and_wait(records).await;
        assert!(saved.is_ok(), "{saved:?}");
        self.engine.handle(Event::Slices(queued)).await;
    }

    /// A slice handed to worker `i` on `conn` (a `execution:slice:new`, or the `next` of an
    /// answer) must be a queued slice, to a worker that runs nothing, before any stop.
    fn handed(&mut self, i: usize, conn: u64, slice_id: &str) {
        let w = &mut self.workers[i];
        assert!(!self.model.ending, "{slice_id} handed out after the stop");
        assert_eq!(w.conn, Some(conn), "handed to an old connection");
        assert!(
            w.holds.is_none(),
            "w{i} got {slice_id} while it runs {:?}",
            w.holds
        );
        assert!(
            self.model.queued.remove(slice_id),
            "{slice_id} handed out but it was not queued"
        );
        w.holds = Some(slice_id.to_string());
        self.model
            .sent
            .insert(slice_id.to_string(), (name(i), conn));
        self.model
            .record
            .insert(slice_id.to_string(), SliceState::Start);
    }

    fn frames(&mut self, i: usize) -> Vec<Envelope> {
        let mut got = Vec::new();
        let w = &mut self.workers[i];
        let Some(outbox) = w.outbox.as_mut() else {
            return got;
        };
        while let Ok(frame) = outbox.frames.try_recv() {
            let env: Envelope = match serde_json::from_str(&frame.text) {
                Ok(env) => env,
                Err(e) => panic!("bad frame {}: {e}", frame.text),
            };
            assert!(env.id > w.last_frame, "frames reordered");
            w.last_frame = env.id;
            got.push(env);
        }
        got
    }

    fn read_frames(&mut self) {
        for i in 0..WORKERS {
            let Some(conn) = self.workers[i].conn else {
                continue;
            };
            for env in self.frames(i) {
                match env.message {
                    Message::SliceNew(slice)
                    | Message::SliceRecorded {
                        next: Some(slice), ..
                    } => self.handed(i, conn, &slice.slice_id),
                    Message::SliceRecorded { next: None, .. } | Message::Shutdown => {}
                    other => panic!("unexpected frame to a worker: {}", other.event()),
                }
            }
        }
    }

    /// The engine's dispatch state agrees with the model.
    fn check(&self) {
        let d = self.engine.d.lock();
        let queued: HashSet<String> = d.queue.iter().map(|q| q.slice.slice_id.clone()).collect();
        assert_eq!(queued.len(), d.queue.len(), "a slice queued twice");
        assert_eq!(queued, self.model.queued, "queue");
        let sent: HashMap<String, (String, u64)> = d
            .in_flight
            .iter()
            .map(|(s, f)| (s.clone(), (f.worker_id.clone(), f.conn)))
            .collect();
        assert_eq!(sent, self.model.sent, "in flight");
        assert_eq!(d.stats.processed, self.model.done.len() as u64, "processed");
        for (i, w) in self.workers.iter().enumerate() {
            let slot = d.workers.get(&name(i));
            assert_eq!(slot.map(|s| s.conn), w.conn, "w{i}'s connection");
            if let Some(slot) = slot {
                assert_eq!(slot.busy_with, w.holds, "what w{i} runs");
            }
        }
        // Work-conserving: nobody idles while a slice waits and dispatch is allowed.
        if d.may_dispatch() && !d.queue.is_empty() {
            assert!(
                d.idle.is_empty(),
                "idle workers {:?} with queued slices",
                d.idle
            );
        }
    }

    /// The end of the execution: nothing more handed out, every worker told to shut down
    /// after its other frames, the final status and every slice record as the model says.
    async fn finish(mut self) {
        self.engine.d.lock().close();
        self.engine.shutdown_workers().await;
        for i in 0..WORKERS {
            if self.workers[i].conn.is_none() {
                continue;
            }
            let frames = self.frames(i);
            assert_eq!(
                frames.last().map(|e| e.message.event()),
                Some("shutdown"),
                "w{i} was not told to shut down last"
            );
            for env in frames {
                if let Message::SliceNew(s) = env.message {
                    panic!("{} handed out at the shutdown", s.slice_id);
                }
            }
        }
        let outcome = self.engine.finish().await;
        let m = &self.model;
        let failed_or_stuck = m
            .record
            .values()
            .any(|s| matches!(s, SliceState::Error | SliceState::Start));
        let by_master = m.stop == Some(true);
        let completion = match (failed_or_stuck, by_master) {
            (false, _) => ExecutionStatus::Completed,
            // A `stopping` execution only becomes `stopped` or `completed`: the stop wins.
            (true, true) => ExecutionStatus::Stopping,
            (true, false) => ExecutionStatus::Failed,
        };
        let expected = match m.stop {
            Some(by_master) if m.interrupted || !m.slicer_done || !m.sent.is_empty() => {
                if by_master {
                    ExecutionStatus::Stopping
                } else {
                    ExecutionStatus::Terminated
                }
            }
            _ => completion,
        };
        assert_eq!(outcome.status, expected, "{:?}", outcome.failure_reason);
        let stored = self
            .store
            .get_execution(&self.engine.ex.ex_id)
            .await
            .map(|ex| ex.status);
        assert_eq!(stored, Ok(expected), "stored status");
        let records = self
            .store
            .list_slice_states(&SliceQuery::all(&self.engine.ex.ex_id))
            .await;
        let records = match records {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(records.len(), m.record.len(), "one record per slice");
        let got: BTreeMap<String, SliceState> =
            records.into_iter().map(|r| (r.slice_id, r.state)).collect();
        assert_eq!(got, m.record, "slice records");
    }
}

fn run_case(steps: &[Step]) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(async {
        let mut sim = Sim::new().await;
        for step in steps {
            sim.run(step).await;
        }
        sim.finish().await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300),
        ..ProptestConfig::default()
    })]

    #[test]
    fn dispatch_keeps_its_invariants(steps in prop::collection::vec(step(), 1..60)) {
        run_case(&steps);
    }
}
