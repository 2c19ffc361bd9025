//! Executions in `stopping` become `stopped` once the backend shows none of their processes, or
//! are reaped (force-stopped) after `shutdown_timeout`.
use std::sync::Arc;

use chrono::Utc;
use tracing::warn;

use super::{lock, Scheduler};
use crate::backend::{processes_of, StopOptions};
use crate::execution::StatusUpdate;
use crate::status::ExecutionStatus;

impl Scheduler {
    pub(super) async fn stop_watcher(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.stop_poll).await;
            self.check_stopping().await;
        }
    }

    pub(super) fn watch_stopping(&self, ex_id: &str) {
        lock(&self.stopping).insert(ex_id.to_string());
    }

    async fn check_stopping(&self) {
        let ids: Vec<String> = lock(&self.stopping).iter().cloned().collect();
        if ids.is_empty() {
            return;
        }
        let state = match self.backend.cluster_state().await {
            Ok(s) => s,
            Err(e) => return warn!(error = %e, "cannot read cluster state for stopping executions"),
        };
        for ex_id in ids {
            let ex = match self.store.get_execution(&ex_id).await {
                Ok(ex) => ex,
                Err(_) => {
                    lock(&self.stopping).remove(&ex_id);
                    continue;
                }
            };
            if ex.status != ExecutionStatus::Stopping {
                lock(&self.stopping).remove(&ex_id);
                continue;
            }
            let gone = processes_of(&state, &ex_id).next().is_none();
            let overdue = Utc::now()
                .signed_duration_since(ex.updated)
                .to_std()
                .unwrap_or_default()
                > self.config.shutdown_timeout;
            if !gone && !overdue {
                continue;
            }
            if !gone {
                warn!(
                    ex_id,
                    "still has processes after shutdown_timeout; killing them"
                );
                let _ = self
                    .backend
                    .stop_execution(
                        &ex_id,
                        &StopOptions {
                            force: true,
                            ..Default::default()
                        },
                    )
                    .await;
            }
            match self
                .store
                .set_execution_status(&ex_id, ExecutionStatus::Stopped, &StatusUpdate::default())
                .await
            {
                Ok(_) => {
                    lock(&self.stopping).remove(&ex_id);
                }
                Err(e) => warn!(ex_id, error = %e, "cannot mark execution stopped"),
            }
        }
    }
}
