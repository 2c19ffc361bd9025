//! Graceful shutdown: wait for SIGTERM/SIGINT; then, on backends whose processes cannot outlive
//! the master (native, mock), stop every execution that has processes and record why.
use futures::future::join_all;
use teraslice_core::backend::StopOptions;
use teraslice_core::config::ClusterManagerType;
use teraslice_core::execution::StatusUpdate;
use teraslice_core::store::{ExecutionQuery, ListQuery};
use teraslice_core::ExecutionStatus;
use tracing::{info, warn};

use super::MasterServices;

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Runs after the HTTP server has stopped accepting requests.
pub async fn finish(services: &MasterServices) {
    services.scheduler.shutdown();
    let bound = services.config.teraslice.shutdown_timeout();
    if services.backend.kind() != ClusterManagerType::KUBERNETES
        && tokio::time::timeout(bound, stop_living(services))
            .await
            .is_err()
    {
        warn!(?bound, "executions were still stopping at shutdown_timeout");
    }
    if let Err(e) = services.backend.shutdown().await {
        warn!(error = %e, "cluster backend shutdown failed");
    }
}

/// Stops every execution past `pending` (pending ones stay queued for the next master) and
/// marks it `terminated` (`stopping` ones become `stopped`), as Teraslice's native master does.
async fn stop_living(services: &MasterServices) {
    let query = ExecutionQuery {
        job_id: None,
        statuses: ExecutionStatus::ALL
            .into_iter()
            .filter(|s| s.is_living() && *s != ExecutionStatus::Pending)
            .collect(),
        page: ListQuery {
            from: 0,
            size: usize::MAX,
        },
    };
    let living = match services.store.list_executions(&query).await {
        Ok(l) => l,
        Err(e) => return warn!(error = %e, "cannot list executions to stop at shutdown"),
    };
    let timeout_ms = Some(services.config.teraslice.shutdown_timeout_ms);
    join_all(living.into_iter().map(|ex| async move {
        info!(ex_id = %ex.ex_id, status = %ex.status, "stopping execution: the master is shutting down");
        let opts = StopOptions {
            timeout_ms,
            ..Default::default()
        };
        if let Err(e) = services.backend.stop_execution(&ex.ex_id, &opts).await {
            warn!(ex_id = %ex.ex_id, error = %e, "cannot stop execution at shutdown");
        }
        let (status, update) = if ex.status == ExecutionStatus::Stopping {
            (ExecutionStatus::Stopped, StatusUpdate::default())
        } else {
            let reason = "the cluster master shut down while the execution was running";
            (ExecutionStatus::Terminated, StatusUpdate::failed(reason))
        };
        if let Err(e) = services.store.set_execution_status(&ex.ex_id, status, &update).await {
            warn!(ex_id = %ex.ex_id, error = %e, "cannot record the execution's end at shutdown");
        }
    }))
    .await;
}
