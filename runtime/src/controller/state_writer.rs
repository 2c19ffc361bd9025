//! The EC's only path to the store for slice state and analytics: one task that writes in
//! batches (every record queued while a write was in flight goes into the next one), keeps
//! each slice's updates in order, and keeps what it could not write buffered and retried while
//! the store is unreachable, up to `teraslice.state.write_retry_timeout` and
//! `write_buffer_limit` records.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use teraslice_core::store::{AnalyticsRecord, SliceStateRecord, StateStore, StoreError};
use tokio::sync::{mpsc, oneshot};

use super::store_retry::StoreRetry;

const MAX_BATCH: usize = 1000;
/// How long records nobody waits for may wait for company before they are written.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(2);

enum Command {
    States(
        Vec<SliceStateRecord>,
        Option<oneshot::Sender<Result<(), StoreError>>>,
    ),
    Analytics(Vec<AnalyticsRecord>),
    Flush(oneshot::Sender<()>),
}

impl Command {
    /// Someone awaits this command (a `write_and_wait` or a flush): write without gathering.
    fn is_waited_for(&self) -> bool {
        matches!(self, Command::States(_, Some(_)) | Command::Flush(_))
    }
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct StateWriter {
    tx: mpsc::UnboundedSender<Command>,
    /// Records sent and not yet written or given up on.
    waiting: Arc<AtomicUsize>,
}

/// What the writer task shares with its handles.
struct Limits {
    retry: Arc<StoreRetry>,
    buffer_limit: usize,
    waiting: Arc<AtomicUsize>,
}

impl StateWriter {
    /// Starts the writer; a write that fails for good is reported on `failures`.
    pub fn spawn(
        store: Arc<dyn StateStore>,
        retry: Arc<StoreRetry>,
        buffer_limit: usize,
        failures: mpsc::UnboundedSender<StoreError>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let limits = Limits {
            retry,
            buffer_limit,
            waiting: waiting.clone(),
        };
        let task = tokio::spawn(run(store, rx, failures, limits));
        (StateWriter { tx, waiting }, task)
    }

    fn send(&self, cmd: Command, records: usize) -> bool {
        self.waiting.fetch_add(records, Ordering::Relaxed);
        let sent = self.tx.send(cmd).is_ok();
        if !sent {
            self.waiting.fetch_sub(records, Ordering::Relaxed);
        }
        sent
    }

    /// Queues records; failures are reported on the failure channel.
    pub fn write(&self, records: Vec<SliceStateRecord>) {
        let n = records.len();
        self.send(Command::States(records, None), n);
    }

    /// Writes records and waits until they are stored.
    pub async fn write_and_wait(&self, records: Vec<SliceStateRecord>) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        let n = records.len();
        self.send(Command::States(records, Some(tx)), n)
            .then_some(())
            .ok_or_else(|| StoreError::Unavailable("the state writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the state writer has stopped".into()))?
    }

    pub fn write_analytics(&self, records: Vec<AnalyticsRecord>) {
        let n = records.len();
        self.send(Command::Analytics(records), n);
    }

    /// Waits until everything queued before this call is written (or given up on).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(
    store: Arc<dyn StateStore>,
    mut rx: mpsc::UnboundedReceiver<Command>,
    failures: mpsc::UnboundedSender<StoreError>,
    limits: Limits,
) {
    let over_buffer = || {
        let waiting = limits.waiting.load(Ordering::Relaxed);
        (waiting > limits.buffer_limit).then(|| {
            format!(
                "{waiting} records are waiting for the state store, more than teraslice.state.write_buffer_limit ({})",
                limits.buffer_limit
            )
        })
    };
    while let Some(first) = rx.recv().await {
        let mut urgent = first.is_waited_for();
        let mut batch = vec![first];
        // Records nobody waits for are gathered for up to COALESCE: a slice's `start` and
        // `completed` then usually become one write, and the store sees fewer, larger batches.
        let deadline = tokio::time::Instant::now() + COALESCE;
        while batch.len() < MAX_BATCH {
            let cmd = match rx.try_recv() {
                Ok(cmd) => cmd,
                Err(mpsc::error::TryRecvError::Empty) if !urgent => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(cmd)) => cmd,
                        _ => break,
                    }
                }
                Err(_) => break,
            };
            urgent |= cmd.is_waited_for();
            batch.push(cmd);
        }
        let mut states = Vec::new();
        let mut acks = Vec::new();
        let mut analytics = Vec::new();
        let mut flushes = Vec::new();
        let mut taken = 0;
        let mut unacked = false;
        for cmd in batch {
            match cmd {
                Command::States(records, ack) => {
                    taken += records.len();
                    unacked |= ack.is_none() && !records.is_empty();
                    states.extend(records);
                    acks.extend(ack);
                }
                Command::Analytics(records) => {
                    taken += records.len();
                    analytics.extend(records);
                }
                Command::Flush(done) => flushes.push(done),
            }
        }
        let deduped = latest_per_slice(states);
        let state_result = if deduped.is_empty() {
            Ok(())
        } else {
            let what = format!("{} slice state record(s)", deduped.len());
            let write = || store.write_slice_states(&deduped);
            let started = std::time::Instant::now();
            let result = limits.retry.run(&what, write, over_buffer).await;
            if let Some(m) = crate::metrics::runtime() {
                m.store_write_duration
                    .observe(started.elapsed().as_secs_f64());
            }
            result
        };
        if let Err(e) = &state_result {
            // Records nobody waits for (worker reports) are lost: that must fail the execution.
            if unacked {
                let _ = failures.send(e.clone());
            }
        }
        for ack in acks {
            let _ = ack.send(state_result.clone());
        }
        if !analytics.is_empty() {
            let what = format!("{} analytics record(s)", analytics.len());
            let write = || store.write_analytics(&analytics);
            if let Err(e) = limits.retry.run(&what, write, over_buffer).await {
                // Analytics are best effort, as in Teraslice; losing them must not fail the job.
                tracing::warn!(error = %e, count = analytics.len(), "analytics records were not written");
            }
        }
        limits.waiting.fetch_sub(taken, Ordering::Relaxed);
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Later updates of the same slice replace earlier ones in a batch; the order is kept.
fn latest_per_slice(states: Vec<SliceStateRecord>) -> Vec<SliceStateRecord> {
    let mut last = std::collections::HashMap::with_capacity(states.len());
    for (i, r) in states.iter().enumerate() {
        last.insert(r.slice_id.as_str(), i);
    }
    if last.len() == states.len() {
        return states;
    }
    let keep: Vec<bool> = states
        .iter()
        .enumerate()
        .map(|(i, r)| last.get(r.slice_id.as_str()) == Some(&i))
        .collect();
    states
        .into_iter()
        .zip(keep)
        .filter_map(|(r, keep)| keep.then_some(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use teraslice_core::store::{MemoryStore, MockStateStore, SliceQuery, SliceState};

    fn retry() -> Arc<StoreRetry> {
        Arc::new(StoreRetry::new(std::time::Duration::from_secs(60)))
    }

    fn record(id: &str, state: SliceState) -> SliceStateRecord {
        SliceStateRecord {
            slice_id: id.into(),
            slicer_id: 0,
            slicer_order: 1,
            request: "{}".into(),
            state,
            ex_id: "ex".into(),
            created: Utc::now(),
            updated: Utc::now(),
            error: None,
            retry_count: None,
        }
    }

    #[tokio::test]
    async fn later_updates_of_a_slice_win_and_flush_waits_for_them() {
        let store = Arc::new(MemoryStore::new());
        let (failures, _rx) = mpsc::unbounded_channel();
        let (writer, _task) = StateWriter::spawn(store.clone(), retry(), 100, failures);
        writer.write(vec![record("a", SliceState::Pending)]);
        writer.write(vec![record("a", SliceState::Start)]);
        writer.write(vec![record("a", SliceState::Completed)]);
        writer.flush().await;
        let stored = store.list_slice_states(&SliceQuery::all("ex")).await;
        let states: Vec<_> = stored
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.state)
            .collect();
        assert_eq!(states, vec![SliceState::Completed]);
    }

    #[tokio::test]
    async fn a_write_that_fails_for_good_is_reported() {
        let mut store = MockStateStore::new();
        store
            .expect_write_slice_states()
            .times(2)
            .returning(|_| Err(StoreError::Data("mapping conflict".into())));
        let (failures, mut rx) = mpsc::unbounded_channel();
        let (writer, _task) = StateWriter::spawn(Arc::new(store), retry(), 100, failures);
        writer.write(vec![record("a", SliceState::Start)]);
        assert_eq!(
            rx.recv().await,
            Some(StoreError::Data("mapping conflict".into()))
        );
        let waited = writer
            .write_and_wait(vec![record("b", SliceState::Pending)])
            .await;
        assert!(
            waited.is_err(),
            "the caller that waits gets the error itself"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn more_records_than_the_buffer_limit_while_the_store_is_down_fail_naming_the_key() {
        let mut store = MockStateStore::new();
        store
            .expect_write_slice_states()
            .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
        let (failures, mut rx) = mpsc::unbounded_channel();
        let (writer, _task) = StateWriter::spawn(Arc::new(store), retry(), 2, failures);
        writer.write(vec![record("a", SliceState::Start)]);
        writer.write(vec![record("b", SliceState::Start)]);
        writer.write(vec![record("c", SliceState::Start)]);
        let err = rx.recv().await.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("more than teraslice.state.write_buffer_limit (2)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_mixing_reports_with_a_waiting_caller_still_reports_the_loss() {
        let mut store = MockStateStore::new();
        store
            .expect_write_slice_states()
            .returning(|_| Err(StoreError::Data("mapping conflict".into())));
        let (failures, mut rx) = mpsc::unbounded_channel();
        let (writer, _task) = StateWriter::spawn(Arc::new(store), retry(), 100, failures);
        // Both are queued before the writer task runs, so they share one batch.
        writer.write(vec![record("done", SliceState::Completed)]);
        let waited = writer
            .write_and_wait(vec![record("new", SliceState::Pending)])
            .await;
        assert!(waited.is_err());
        // Generous: the report is sent before the waiting caller is answered.
        let reported = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
        assert_eq!(
            reported.ok().flatten(),
            Some(StoreError::Data("mapping conflict".into())),
            "the completed record nobody waits for is reported lost"
        );
    }
}
