//! Backend events → execution statuses: a dead controller or an unschedulable pod fails the
//! execution instead of leaving it stuck (Teraslice issues #804, #1395, #2673).
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio::time::Instant;
use tracing::{info, warn};

use super::Scheduler;
use crate::backend::{BackendEvent, EventKind, StopOptions};
use crate::status::ExecutionStatus;
use crate::store::StoreError;

/// How long an event waits for an unreachable store before it is dropped: twice the default
/// `teraslice.state.write_retry_timeout`, so an EC that gave up on the store is still seen.
pub const EVENT_STORE_WAIT: Duration = Duration::from_secs(600);

impl Scheduler {
    pub(super) async fn event_loop(self: Arc<Self>, mut events: Receiver<BackendEvent>) {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if let Err(ev) = self.handle_event(ev).await {
                        // Wait for the store off the loop, so other executions' events go on.
                        let me = self.clone();
                        tokio::spawn(async move { me.retry_event(ev).await });
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    // Missed events may include deaths: compare the store with the cluster again.
                    warn!(
                        missed = n,
                        "backend events lagged; reconciling running executions"
                    );
                    if let Err(e) = self.reconcile_living().await {
                        warn!(error = %e, "reconcile after lag failed");
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Handles `ev` again while the store stays unreachable, up to [`EVENT_STORE_WAIT`].
    async fn retry_event(&self, mut ev: BackendEvent) {
        let started = Instant::now();
        let mut delay = Duration::from_millis(500);
        while started.elapsed() < EVENT_STORE_WAIT {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            match self.handle_event(ev).await {
                Ok(()) => return,
                Err(again) => ev = again,
            }
        }
        warn!(ex_id = %ev.ex_id, event = ?ev.kind, waited_s = EVENT_STORE_WAIT.as_secs(), "state store still unreachable; backend event dropped");
    }

    /// `Err(ev)` when the store could not be reached to read the execution.
    async fn handle_event(&self, ev: BackendEvent) -> Result<(), BackendEvent> {
        let ex = match self.store.get_execution(&ev.ex_id).await {
            Ok(ex) => ex,
            Err(StoreError::Unavailable(e)) => {
                warn!(ex_id = %ev.ex_id, event = ?ev.kind, error = %e, "state store unreachable; the backend event waits for it");
                return Err(ev);
            }
            Err(_) => return Ok(()),
        };
        if ex.status.is_terminal() || ex.status == ExecutionStatus::Stopping {
            if matches!(ev.kind, EventKind::ControllerExited { .. }) && ex.status.is_terminal() {
                // The controller ended the execution; remove the workers it leaves behind.
                let _ = self
                    .backend
                    .stop_execution(&ex.ex_id, &StopOptions::default())
                    .await;
            }
            return Ok(());
        }
        if let Some(reason) = ev.kind.fatal_reason() {
            self.fail(&ex.ex_id, reason).await;
            return Ok(());
        }
        if let EventKind::ControllerExited { .. } = ev.kind {
            info!(ex_id = %ex.ex_id, status = %ex.status, "controller exited without ending the execution");
            self.fail(
                &ex.ex_id,
                "execution controller exited before the execution finished".into(),
            )
            .await;
        }
        Ok(())
    }
}
