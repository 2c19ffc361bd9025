//! Running the command template for one process, and reaping it.
use std::fs::{self, OpenOptions};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use base64::Engine;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use teraslice_core::backend::{Assignment, EventKind, ProcessInfo, WorkerId};
use teraslice_core::ExecutionRecord;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::state::{Proc, Shared, State};

/// `execution-controller` / `worker`: the `teraslice` subcommand of a role.
fn subcommand(a: Assignment) -> &'static str {
    match a {
        Assignment::ExecutionController => "execution-controller",
        Assignment::Worker => "worker",
    }
}

/// The template with its placeholders filled in.
pub(crate) fn expand(template: &[String], vars: &[(&str, &str)]) -> Vec<String> {
    template
        .iter()
        .map(|arg| {
            vars.iter().fold(arg.clone(), |arg, (name, value)| {
                arg.replace(&format!("{{{name}}}"), value)
            })
        })
        .collect()
}

impl Shared {
    /// Starts the command of one process of `ex` (whose slicer address is set) and records it;
    /// the error says what could not be done.
    pub(crate) fn launch(
        self: &Arc<Self>,
        st: &mut State,
        ex: &ExecutionRecord,
        assignment: Assignment,
        name: &str,
    ) -> Result<u32, String> {
        let cfg = &self.cfg;
        let config_file = cfg.config_file();
        let (program, config_path) = (
            cfg.program.display().to_string(),
            config_file.display().to_string(),
        );
        let argv = expand(
            &cfg.template,
            &[
                ("program", &program),
                ("subcommand", subcommand(assignment)),
                ("ex_id", &ex.ex_id),
                ("job_id", &ex.job_id),
                ("name", name),
                ("config", &config_path),
            ],
        );
        let (first, rest) = argv.split_first().ok_or("the command template is empty")?;
        let json = serde_json::to_vec(ex).map_err(|e| format!("execution record: {e}"))?;
        let role = match assignment {
            Assignment::ExecutionController => "execution_controller",
            Assignment::Worker => "worker",
        };
        let log_path = cfg.work_dir.join(&ex.ex_id).join(format!("{name}.log"));
        let log = open_log(&log_path)?;
        let err_log = log
            .try_clone()
            .map_err(|e| format!("log file {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(first);
        cmd.args(rest)
            .env("EX", base64::engine::general_purpose::STANDARD.encode(json))
            .env("TERAFOUNDATION_CONFIG", &config_file)
            .env("assignment", role)
            .env("NODE_TYPE", role)
            .env("ex_id", &ex.ex_id)
            .env("job_id", &ex.job_id)
            .env(
                "slicer_hostname",
                ex.slicer_hostname.as_deref().unwrap_or_default(),
            )
            .env(
                "slicer_port",
                ex.slicer_port.unwrap_or_default().to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            // Its own group, so a stop reaches what the command starts too.
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("command `{}` cannot be started: {e}", argv.join(" ")))?;
        let pid = child
            .id()
            .ok_or("the command exited before its pid was read")?;
        let (done, exited) = watch::channel(false);
        let port = (assignment == Assignment::ExecutionController)
            .then_some(ex.slicer_port)
            .flatten();
        st.procs.insert(
            pid,
            Proc {
                info: ProcessInfo {
                    worker_id: WorkerId::Name(format!("{}-{name}", short_id(&ex.ex_id))),
                    assignment,
                    ex_id: ex.ex_id.clone(),
                    job_id: ex.job_id.clone(),
                    pid: Some(pid),
                    pod_name: None,
                    pod_ip: None,
                    image: None,
                    assets: ex.job.assets.clone().unwrap_or_default(),
                },
                name: name.to_string(),
                port,
                stopping: false,
                exited,
            },
        );
        tracing::info!(ex_id = %ex.ex_id, pid, name, command = %argv.join(" "), "command started");
        self.emit(
            &ex.ex_id,
            match assignment {
                Assignment::ExecutionController => EventKind::ControllerStarted,
                Assignment::Worker => EventKind::WorkerStarted {
                    worker_id: name.to_string(),
                },
            },
        );
        tokio::spawn(self.clone().reap(pid, child, done));
        Ok(pid)
    }

    /// Waits for the command, then forgets it and reports its exit (unless it was stopped).
    async fn reap(self: Arc<Self>, pid: u32, mut child: Child, done: watch::Sender<bool>) {
        let status = child.wait().await;
        let gone = self.state().procs.remove(&pid);
        // What the command started dies with it: orphans would run outside the backend's view.
        signal_group(pid, Signal::SIGKILL);
        let _ = done.send(true);
        let Some(p) = gone else { return };
        let (code, reason) = match status {
            Ok(s) => describe_exit(s),
            Err(e) => (None, format!("cannot be waited for: {e}")),
        };
        tracing::info!(
            ex_id = p.info.ex_id,
            pid,
            reason,
            stopping = p.stopping,
            "command exited"
        );
        if p.stopping {
            return;
        }
        let kind = match p.info.assignment {
            Assignment::ExecutionController => EventKind::ControllerExited { code, reason },
            Assignment::Worker => EventKind::WorkerExited {
                worker_id: p.name,
                code,
                reason,
            },
        };
        self.emit(&p.info.ex_id, kind);
    }
}

fn short_id(ex_id: &str) -> &str {
    ex_id.get(..8).unwrap_or(ex_id)
}

fn open_log(path: &std::path::Path) -> Result<fs::File, String> {
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

/// Sends `sig` to the group led by `pgid`; false when it has no process left.
pub(crate) fn signal_group(pgid: u32, sig: Signal) -> bool {
    i32::try_from(pgid).is_ok_and(|raw| killpg(Pid::from_raw(raw), sig).is_ok())
}

fn describe_exit(status: ExitStatus) -> (Option<i32>, String) {
    match (status.code(), status.signal()) {
        (Some(code), _) => (Some(code), format!("exited with code {code}")),
        (None, Some(sig)) => (None, format!("killed by signal {sig}")),
        (None, None) => (None, "exited for an unknown reason".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_wherever_it_appears() {
        let template = [
            "srun",
            "--job-name=ts-{ex_id}-{name}",
            "{program}",
            "{subcommand}",
            "{x}",
        ]
        .map(String::from);
        let argv = expand(
            &template,
            &[
                ("program", "/opt/ts"),
                ("subcommand", "worker"),
                ("ex_id", "e1"),
                ("name", "worker-2"),
            ],
        );
        assert_eq!(
            argv,
            [
                "srun",
                "--job-name=ts-e1-worker-2",
                "/opt/ts",
                "worker",
                "{x}"
            ]
        );
    }
}
