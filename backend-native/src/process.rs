//! Starting one child in its own process group, with its output appended to a log file, and
//! signalling that whole group.
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use teraslice_core::backend::Assignment;
use teraslice_core::ExecutionRecord;
use tokio::process::{Child, Command};

use crate::config::NativeConfig;
use crate::env::{child_env, subcommand, ENV_SLICER_LISTEN_FD};

/// `<log_dir>/<ex_id>/<name>.log`.
pub fn log_path(log_dir: &Path, ex_id: &str, name: &str) -> PathBuf {
    log_dir.join(ex_id).join(format!("{name}.log"))
}

/// The last `Error: …` line (how the `teraslice` binary reports a failed command) in the last
/// 8 KiB of a process's log, without the prefix.
pub(crate) fn last_error_line(log: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs::File::open(log).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(8192))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("Error: "))
        .map(|l| l.trim().to_string())
}

/// Starts `<program> <args_prefix…> <subcommand>` as the leader of a new process group.
/// `name` is `ec` or `worker-N`; the error says what could not be done, for the event reason.
/// `listener` (an execution controller's slicer socket) is inherited by the child alone, its
/// descriptor number in env `slicer_listen_fd`; the caller closes its own copy afterwards.
pub(crate) fn spawn(
    cfg: &NativeConfig,
    ex: &ExecutionRecord,
    assignment: Assignment,
    name: &str,
    listener: Option<&TcpListener>,
) -> Result<Child, String> {
    let env = child_env(cfg, ex, assignment);
    let path = log_path(&cfg.log_dir, &ex.ex_id, name);
    let log = open_log(&path)?;
    let err_log = log
        .try_clone()
        .map_err(|e| format!("log file {}: {e}", path.display()))?;
    let mut cmd = Command::new(&cfg.program);
    cmd.args(&cfg.args_prefix)
        .arg(subcommand(assignment))
        .envs(env)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        // Its own group, so a stop reaches the grandchildren it starts too.
        .process_group(0);
    if let Some(listener) = listener {
        let fd = listener.as_raw_fd();
        cmd.env(ENV_SLICER_LISTEN_FD, fd.to_string());
        // Like every descriptor Rust opens, the socket is close-on-exec, so no other child (they
        // may be forked concurrently) inherits it; only this child clears the flag, after fork.
        // SAFETY: the closure runs in the forked child before exec; it only calls fcntl(2),
        // which is async-signal-safe, and allocates nothing. `fd` is open: `listener` outlives
        // this call, and the fork copies it; stdio setup (fds 0-2) cannot replace it, because
        // the pool keeps slicer sockets above 2.
        unsafe {
            cmd.pre_exec(move || {
                let fd = BorrowedFd::borrow_raw(fd);
                fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))?;
                Ok(())
            });
        }
    }
    cmd.spawn()
        .map_err(|e| format!("program {} cannot be started: {e}", cfg.program.display()))
}

fn open_log(path: &Path) -> Result<fs::File, String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| format!("log directory {} cannot be created: {e}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("log file {} cannot be opened: {e}", path.display()))
}

/// Sends `sig` to the group led by `pgid`; false when the group has no process left.
pub(crate) fn signal_group(pgid: u32, sig: Signal) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return false;
    };
    match killpg(Pid::from_raw(raw), sig) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(e) => {
            tracing::warn!(pgid, signal = sig.as_str(), error = %e, "cannot signal process group");
            false
        }
    }
}

/// Whether a process of group `pgid` still runs. Zombies do not count: they are dead and only
/// wait for a parent (possibly an init that never reaps) to collect them.
pub(crate) fn group_running(pgid: u32) -> bool {
    let Ok(dir) = fs::read_dir("/proc") else {
        // No procfs: fall back to "the group has a member", zombies included.
        return signal_group_exists(pgid);
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the `(comm)`: state, ppid, pgrp, …
            let mut rest = stat
                .rsplit_once(')')
                .map_or("", |(_, r)| r)
                .split_whitespace();
            let state = rest.next().unwrap_or("Z");
            let pgrp = rest.nth(1).and_then(|g| g.parse::<u32>().ok());
            pgrp == Some(pgid) && state != "Z" && state != "X"
        })
}

fn signal_group_exists(pgid: u32) -> bool {
    i32::try_from(pgid).is_ok_and(|raw| killpg(Pid::from_raw(raw), None).is_ok())
}

/// `(code, reason)` of an exit, e.g. `(None, "killed by signal SIGKILL")`.
pub(crate) fn describe_exit(status: ExitStatus) -> (Option<i32>, String) {
    if let Some(code) = status.code() {
        return (Some(code), format!("exited with code {code}"));
    }
    let reason = match status.signal() {
        Some(n) => match Signal::try_from(n) {
            Ok(sig) => format!("killed by signal {}", sig.as_str()),
            Err(_) => format!("killed by signal {n}"),
        },
        None => "exited for an unknown reason".to_string(),
    };
    (None, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_line_of_a_log_is_the_exit_reason_detail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("ec.log");
        assert_eq!(last_error_line(&log), None, "no log, no detail");
        let body = "INFO start\nError: first\nWARN x\nError: execution e1 ended failed but that status could not be written\n\nCaused by:\n    down\n";
        fs::write(&log, body).expect("write log");
        assert_eq!(
            last_error_line(&log).as_deref(),
            Some("execution e1 ended failed but that status could not be written")
        );
    }

    #[test]
    fn exit_reasons_name_code_or_signal() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            (Some(3), "exited with code 3".to_string())
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(9)),
            (None, "killed by signal SIGKILL".to_string())
        );
    }
}
