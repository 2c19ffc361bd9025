//! Workers as the engine sees them: joining, leaving, idle queue, and dispatching slices.
use chrono::Utc;
use teraslice_core::store::SliceState;
use tokio::time::Instant;

use super::super::slicers::QueuedSlice;
use super::{Engine, InFlight, WorkerSlot};
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

    /// The worker will not run the slice it was sent: back to the head of the queue.
    pub(super) fn refused(&mut self, worker_id: &str, conn: u64, slice_id: &str) {
        let sent_there = self
            .in_flight
            .get(slice_id)
            .is_some_and(|f| f.worker_id == worker_id && f.conn == conn);
        if !sent_there {
            return;
        }
        tracing::debug!(worker_id, slice_id, "slice refused by its worker");
        if let Some(slot) = self.workers.get_mut(worker_id) {
            if slot.busy_with.as_deref() == Some(slice_id) {
                slot.busy_with = None;
            }
        }
        if self.ending.is_some() {
            // Not re-queued any more, but it never ran: `pending` again, as before it was sent.
            if let Some(f) = self.in_flight.remove(slice_id) {
                let mut record = f.record;
                record.state = SliceState::Pending;
                record.updated = Utc::now();
                self.writer.write(vec![record]);
            }
        } else {
            self.release(worker_id, Some(slice_id.to_string()));
        }
        self.refresh_worker_stats();
    }

    /// Whether slices may be handed out now.
    fn may_dispatch(&self) -> bool {
        !self.paused && self.ending.is_none() && !self.retry.is_down()
    }

    /// Books the next queued slice for the worker connected on `conn` if it holds none, and
    /// records it `start`; the caller sends it.
    pub(super) fn hand_out(&mut self, worker_id: &str, conn: u64) -> Option<crate::ops::Slice> {
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
        record.updated = Utc::now();
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

    pub(super) fn dispatch(&mut self) {
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
