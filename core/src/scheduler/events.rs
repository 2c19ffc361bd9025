//! Backend events → execution statuses: a dead controller or an unschedulable pod fails the
//! execution instead of leaving it stuck (Teraslice issues #804, #1395, #2673).
use std::sync::Arc;

use tokio::sync::broadcast::{error::RecvError, Receiver};
use tracing::{info, warn};

use super::Scheduler;
use crate::backend::{BackendEvent, EventKind, StopOptions};
use crate::status::ExecutionStatus;

impl Scheduler {
    pub(super) async fn event_loop(self: Arc<Self>, mut events: Receiver<BackendEvent>) {
        loop {
            match events.recv().await {
                Ok(ev) => self.handle_event(ev).await,
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

    async fn handle_event(&self, ev: BackendEvent) {
        let Ok(ex) = self.store.get_execution(&ev.ex_id).await else {
            return;
        };
        if ex.status.is_terminal() || ex.status == ExecutionStatus::Stopping {
            if matches!(ev.kind, EventKind::ControllerExited { .. }) && ex.status.is_terminal() {
                // The controller ended the execution; remove the workers it leaves behind.
                let _ = self
                    .backend
                    .stop_execution(&ex.ex_id, &StopOptions::default())
                    .await;
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
