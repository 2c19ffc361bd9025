//! Workers as the engine sees them: joining, leaving, idle queue, and dispatching slices.
use chrono::Utc;
use teraslice_core::store::SliceState;
use tokio::time::Instant;

use super::super::slicers::QueuedSlice;
use super::{Engine, Event, InFlight, WorkerSlot};
use crate::protocol::{Message, Peer};

impl Engine {
    pub(super) fn joined(&mut self, worker_id: String, conn: u64, peer: Peer) {
        if let Some(old) = self.workers.remove(&worker_id) {
            self.stats.workers_reconnected += 1;
            self.release(&worker_id, old.busy_with);
        } else {
            self.stats.workers_joined += 1;
        }
        tracing::info!(worker_id = %worker_id, "worker connected");
        if self.ending.is_some() {
            send_detached(&peer, Message::Shutdown);
        }
        self.workers.insert(
            worker_id,
            WorkerSlot {
                conn,
                peer,
                busy_with: None,
            },
        );
        self.ever_joined = true;
        self.all_gone_at = None;
        self.refresh_worker_stats();
    }

    pub(super) fn left(&mut self, worker_id: &str, conn: u64) {
        if self.workers.get(worker_id).is_none_or(|s| s.conn != conn) {
            return;
        }
        let slot = self.workers.remove(worker_id);
        self.idle.retain(|w| w != worker_id);
        self.stats.workers_disconnected += 1;
        tracing::info!(worker_id, "worker disconnected");
        self.release(worker_id, slot.and_then(|s| s.busy_with));
        if self.workers.is_empty() {
            self.all_gone_at = Some(Instant::now());
        }
        self.refresh_worker_stats();
    }

    /// A worker lost its slice (gone, or replaced by its own reconnect): put the slice back at
    /// the front of the queue so another worker gets it (Teraslice never did this).
    pub(super) fn release(&mut self, worker_id: &str, slice_id: Option<String>) {
        let Some(slice_id) = slice_id else { return };
        let Some(f) = self.in_flight.remove(&slice_id) else {
            return;
        };
        if self.ending.is_some() {
            // Nothing is dispatched any more; the record keeps its last state.
            return;
        }
        tracing::warn!(worker_id, slice_id = %slice_id, "re-dispatching the slice of a lost worker");
        let mut record = f.record;
        if record.state != SliceState::Pending {
            // Back in the queue: `pending` again until another worker accepts it.
            record.state = SliceState::Pending;
            record.updated = Utc::now();
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
    pub(super) fn mark_idle(&mut self, worker_id: String, conn: u64) {
        let Some(slot) = self.workers.get(&worker_id) else {
            return;
        };
        if slot.conn == conn && slot.busy_with.is_none() && !self.idle.contains(&worker_id) {
            self.idle.push_back(worker_id);
        }
    }

    pub(super) fn dispatched(
        &mut self,
        worker_id: &str,
        conn: u64,
        slice_id: &str,
        accepted: bool,
    ) {
        let matches = self
            .in_flight
            .get(slice_id)
            .is_some_and(|f| f.worker_id == worker_id && f.conn == conn && !f.accepted);
        if !matches {
            return;
        }
        if accepted {
            if let Some(f) = self.in_flight.get_mut(slice_id) {
                f.accepted = true;
                f.record.state = SliceState::Start;
                f.record.updated = Utc::now();
                self.writer.write(vec![f.record.clone()]);
            }
            return;
        }
        if let Some(slot) = self.workers.get_mut(worker_id) {
            slot.busy_with = None;
        }
        self.release(worker_id, Some(slice_id.to_string()));
        self.refresh_worker_stats();
    }

    pub(super) fn dispatch(&mut self) {
        if self.paused || self.ending.is_some() || self.retry.is_down() {
            return;
        }
        while !self.queue.is_empty() {
            let Some(worker_id) = self.idle.pop_front() else {
                break;
            };
            let Some(slot) = self.workers.get_mut(&worker_id) else {
                continue;
            };
            if slot.busy_with.is_some() {
                continue;
            }
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            slot.busy_with = Some(q.slice.slice_id.clone());
            let (peer, conn) = (slot.peer.clone(), slot.conn);
            let slice = q.slice.clone();
            self.in_flight.insert(
                q.slice.slice_id.clone(),
                InFlight {
                    record: q.record,
                    slice: q.slice,
                    worker_id: worker_id.clone(),
                    conn,
                    accepted: false,
                },
            );
            let events = self.events_tx.clone();
            let timeout = self.timeouts.request_timeout();
            let slice_id = slice.slice_id.clone();
            // Queued now, right behind the `slice:recorded` of the report that freed the worker,
            // so both usually leave in one write.
            let request = peer.request_now(Message::SliceNew(slice), timeout);
            tokio::spawn(async move {
                let accepted = match request.await {
                    Ok(Message::SliceAccepted { will_process }) => will_process,
                    Ok(other) => {
                        tracing::warn!(event = other.event(), "unexpected reply to a slice");
                        false
                    }
                    Err(e) => {
                        tracing::warn!(worker_id = %worker_id, error = %e, "slice not dispatched");
                        false
                    }
                };
                let _ = events
                    .send(Event::Dispatched {
                        worker_id,
                        conn,
                        slice_id,
                        accepted,
                    })
                    .await;
            });
        }
        self.stats.queued = self.queue.len() as u64;
        self.refresh_worker_stats();
    }

    pub(super) fn refresh_worker_stats(&mut self) {
        self.stats.workers_available = self.idle.len() as u64;
        self.stats.workers_active = self
            .workers
            .values()
            .filter(|w| w.busy_with.is_some())
            .count() as u64;
    }

    /// Tells every connected worker to finish and exit (the frames are queued before the
    /// sessions close).
    pub async fn shutdown_workers(&mut self) {
        let wait = self.timeouts.network_latency_buffer;
        let sends = self.workers.values().map(|slot| {
            let peer = slot.peer.clone();
            async move {
                let _ = tokio::time::timeout(wait, peer.send(Message::Shutdown)).await;
            }
        });
        futures::future::join_all(sends).await;
    }
}

/// Sends without blocking the engine on a slow connection.
fn send_detached(peer: &Peer, message: Message) {
    let peer = peer.clone();
    tokio::spawn(async move {
        let _ = peer.send(message).await;
    });
}
