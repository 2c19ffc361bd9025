//! Stopping process groups: SIGTERM, a grace period, then SIGKILL for whatever is left.
use std::time::Duration;

use futures::future::join_all;
use nix::sys::signal::Signal;
use tokio::sync::watch;

use crate::process::{group_running, signal_group};

/// A process group to stop: its leader's pid and the flag its reaper sets.
pub(crate) struct Target {
    pub pid: u32,
    pub exited: watch::Receiver<bool>,
}

/// Stops every group and returns once no process of any of them runs.
/// Graceful: SIGTERM, then SIGKILL to leaders still there after `grace`; `force`: SIGKILL at once.
/// The reaper SIGKILLs what is left of a group (grandchildren) as soon as its leader is reaped.
pub(crate) async fn terminate(targets: Vec<Target>, grace: Duration, force: bool) {
    join_all(targets.into_iter().map(|t| stop_group(t, grace, force))).await;
}

async fn stop_group(mut t: Target, grace: Duration, force: bool) {
    let first = if force {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    signal_group(t.pid, first);
    if !force
        && tokio::time::timeout(grace, reaped(&mut t.exited))
            .await
            .is_err()
    {
        tracing::info!(
            pid = t.pid,
            ?grace,
            "process outlived the stop grace period; sending SIGKILL"
        );
    }
    // Only while the leader is unreaped is `pid` surely still this group's id.
    if !*t.exited.borrow() {
        signal_group(t.pid, Signal::SIGKILL);
    }
    reaped(&mut t.exited).await;
    group_gone(t.pid).await;
}

/// Waits until the reaper has reaped the process.
async fn reaped(exited: &mut watch::Receiver<bool>) {
    // An error means the reaper is gone (runtime shutting down): nothing left to wait for.
    let _ = exited.wait_for(|e| *e).await.is_ok();
}

/// Waits for the last members of a SIGKILLed group to die (delivery is asynchronous).
async fn group_gone(pgid: u32) {
    for _ in 0..GROUP_GONE_POLLS {
        if !group_running(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::warn!(
        pgid,
        "processes of a killed group still run (uninterruptible?)"
    );
}

/// 10 ms polls: SIGKILLed processes die at once unless stuck in the kernel; give up after 10 s.
const GROUP_GONE_POLLS: u32 = 1000;
