//! The EC's only path to the store for slice state and analytics: one task that writes in
//! batches (every record queued while a write was in flight goes into the next one), keeps
//! each slice's updates in order, and retries a failing store before giving up.
use std::sync::Arc;
use std::time::Duration;

use teraslice_core::store::{AnalyticsRecord, SliceStateRecord, StateStore, StoreError};
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 1000;
const ATTEMPTS: u32 = 6;

enum Command {
    States(
        Vec<SliceStateRecord>,
        Option<oneshot::Sender<Result<(), StoreError>>>,
    ),
    Analytics(Vec<AnalyticsRecord>),
    Flush(oneshot::Sender<()>),
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct StateWriter {
    tx: mpsc::UnboundedSender<Command>,
}

impl StateWriter {
    /// Starts the writer; a write that fails for good is reported on `failures`.
    pub fn spawn(
        store: Arc<dyn StateStore>,
        failures: mpsc::UnboundedSender<StoreError>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, rx, failures));
        (StateWriter { tx }, task)
    }

    /// Queues records; failures are reported on the failure channel.
    pub fn write(&self, records: Vec<SliceStateRecord>) {
        let _ = self.tx.send(Command::States(records, None));
    }

    /// Writes records and waits until they are stored.
    pub async fn write_and_wait(&self, records: Vec<SliceStateRecord>) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::States(records, Some(tx)))
            .map_err(|_| StoreError::Unavailable("the state writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the state writer has stopped".into()))?
    }

    pub fn write_analytics(&self, records: Vec<AnalyticsRecord>) {
        let _ = self.tx.send(Command::Analytics(records));
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
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        let mut states = Vec::new();
        let mut acks = Vec::new();
        let mut analytics = Vec::new();
        let mut flushes = Vec::new();
        for cmd in batch {
            match cmd {
                Command::States(records, ack) => {
                    states.extend(records);
                    acks.extend(ack);
                }
                Command::Analytics(records) => analytics.extend(records),
                Command::Flush(done) => flushes.push(done),
            }
        }
        // Later updates of the same slice replace earlier ones in this batch.
        let mut seen = std::collections::HashSet::new();
        let mut deduped: Vec<SliceStateRecord> = states
            .into_iter()
            .rev()
            .filter(|r| seen.insert(r.slice_id.clone()))
            .collect();
        deduped.reverse();
        let state_result = if deduped.is_empty() {
            Ok(())
        } else {
            with_retries(|| store.write_slice_states(&deduped)).await
        };
        if let Err(e) = &state_result {
            if acks.is_empty() {
                let _ = failures.send(e.clone());
            }
        }
        for ack in acks {
            let _ = ack.send(state_result.clone());
        }
        if !analytics.is_empty() {
            if let Err(e) = with_retries(|| store.write_analytics(&analytics)).await {
                // Analytics are best effort, as in Teraslice; losing them must not fail the job.
                tracing::warn!(error = %e, count = analytics.len(), "analytics records were not written");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn with_retries<'a, F, Fut>(mut op: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>> + 'a,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && matches!(e, StoreError::Unavailable(_)) => {
                tracing::warn!(error = %e, attempt, "slice state write failed, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use teraslice_core::store::{MemoryStore, MockStateStore, SliceQuery, SliceState};

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
        let (writer, _task) = StateWriter::spawn(store.clone(), failures);
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
        let (writer, _task) = StateWriter::spawn(Arc::new(store), failures);
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
}
