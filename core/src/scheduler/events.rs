//! Backend events → execution statuses: a dead controller or an unschedulable pod fails the
//! execution instead of leaving it stuck (Teraslice issues #804, #1395, #2673).
use std::sync::Arc;

use backon::Retryable;
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tracing::{debug, info, warn};

use super::Scheduler;
use crate::backend::{BackendEvent, EventKind, StopOptions};
use crate::execution::ExecutionRecord;
use crate::status::ExecutionStatus;
use crate::store::{StoreError, StoreResult};

impl Scheduler {
    pub(super) async fn event_loop(self: Arc<Self>, mut events: Receiver<BackendEvent>) {
        loop {
            match events.recv().await {
                Ok(ev) => match self.store.get_execution(&ev.ex_id).await {
                    Err(StoreError::Unavailable(e)) => {
                        warn!(ex_id = %ev.ex_id, event = ?ev.kind, error = %e, "state store unreachable; the backend event waits for it");
                        // Wait for the store off the loop, so other executions' events go on.
                        let me = self.clone();
                        tokio::spawn(async move { me.handle_when_reachable(ev).await });
                    }
                    loaded => self.handle_event(ev, loaded).await,
                },
                Err(RecvError::Lagged(n)) => {
                    // Missed events may include deaths: compare the store with the cluster again.
                    warn!(
                        missed = n,
                        "backend events lagged; reconciling running executions"
                    );
                    let me = self.clone();
                    tokio::spawn(async move { me.reconcile_living_until_done().await });
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Handles `ev` once the store answers (retried with backoff, without limit).
    async fn handle_when_reachable(&self, ev: BackendEvent) {
        let loaded = self
            .until_reachable(&ev.ex_id, "handling a backend event", || {
                self.store.get_execution(&ev.ex_id)
            })
            .await;
        self.handle_event(ev, loaded).await;
    }

    /// [`Scheduler::reconcile_living`], retried with backoff while the store or backend fails.
    async fn reconcile_living_until_done(&self) {
        let done = (|| self.reconcile_living())
            .retry(self.store_backoff())
            .when(|_| !self.is_shut_down())
            .notify(|e, wait| warn!(error = %e, ?wait, "reconcile after lag failed; retrying"))
            .await;
        if let Err(e) = done {
            warn!(error = %e, "reconcile after lag abandoned: the scheduler shut down");
        }
    }

    async fn handle_event(&self, ev: BackendEvent, loaded: StoreResult<ExecutionRecord>) {
        let ex = match loaded {
            Ok(ex) => ex,
            Err(e) => {
                return debug!(ex_id = %ev.ex_id, error = %e, "backend event for an unreadable execution ignored")
            }
        };
        if ex.status.is_terminal() || ex.status == ExecutionStatus::Stopping {
            if matches!(ev.kind, EventKind::ControllerExited { .. }) && ex.status.is_terminal() {
                // The controller ended the execution; remove the workers it leaves behind.
                if let Err(e) = self
                    .backend
                    .stop_execution(&ex.ex_id, &StopOptions::default())
                    .await
                {
                    warn!(ex_id = %ex.ex_id, error = %e, "cannot remove the workers of an ended execution");
                }
            }
            return;
        }
        if let Some(reason) = ev.kind.fatal_reason() {
            return self.fail(&ex.ex_id, reason).await;
        }
        if let EventKind::ControllerExited { .. } = ev.kind {
            info!(ex_id = %ex.ex_id, status = %ex.status, "controller exited without ending the execution");
            self.fail(
                &ex.ex_id,
                "execution controller exited before the execution finished".into(),
            )
            .await;
        }
    }
}
