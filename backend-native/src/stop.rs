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

/// Stops every group and returns once every leader has been reaped.
/// Graceful: SIGTERM, then SIGKILL to groups still there after `grace`; `force`: SIGKILL at once.
pub(crate) async fn terminate(mut targets: Vec<Target>, grace: Duration, force: bool) {
    let first = if force {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    for t in &targets {
        signal_group(t.pid, first);
    }
    if !force {
        let all_exited = join_all(targets.iter_mut().map(|t| reaped(&mut t.exited)));
        if tokio::time::timeout(grace, all_exited).await.is_err() {
            tracing::info!(
                ?grace,
                "processes outlived the stop grace period; sending SIGKILL"
            );
        }
    }
    // Leaders that ignored SIGTERM, and group members (grandchildren) that outlived their leader.
    for t in &targets {
        signal_group(t.pid, Signal::SIGKILL);
    }
    for t in &mut targets {
        reaped(&mut t.exited).await;
    }
    for t in &targets {
        group_gone(t.pid).await;
    }
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

/// Waits until the reaper has reaped the process.
async fn reaped(exited: &mut watch::Receiver<bool>) {
    // An error means the reaper is gone (runtime shutting down): nothing left to wait for.
    let _ = exited.wait_for(|e| *e).await.is_ok();
}
