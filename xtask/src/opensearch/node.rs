//! One OpenSearch JVM: its config, launch, readiness wait, probe and stop.
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::http;
use super::{Layout, CLUSTER_NAME};

const START_TIMEOUT: Duration = Duration::from_secs(240);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the state folder says about a node.
pub enum Probe {
    /// Answers HTTP as our cluster on this port.
    Running(u16),
    /// Its process lives but does not answer (yet): another `up` may be starting it.
    Starting(u32, u16),
    /// No live process of ours.
    Absent,
}

pub fn probe(layout: &Layout) -> Probe {
    let (Some(pid), Some(port)) = (
        read_number(&layout.pid_file()),
        read_number(&layout.port_file()),
    ) else {
        return Probe::Absent;
    };
    let (Ok(pid), Ok(port)) = (u32::try_from(pid), u16::try_from(port)) else {
        return Probe::Absent;
    };
    if !is_ours(layout, pid) {
        return Probe::Absent;
    }
    if answers_as_ours(port) {
        Probe::Running(port)
    } else {
        Probe::Starting(pid, port)
    }
}

/// Writes the config, launches the JVM detached from this process group and records pid and port.
pub fn start(layout: &Layout, home: &Path, port: u16) -> anyhow::Result<u32> {
    let state = &layout.state_dir;
    for dir in ["config", "data", "logs", "tmp"] {
        std::fs::create_dir_all(state.join(dir))?;
    }
    super::config::write(layout, port)?;
    let log = File::create(layout.console_log()).context("creating the console log")?;
    let mut cmd = Command::new(super::java::tool("java"));
    cmd.args(super::config::jvm_args(layout, home)?)
        .arg("org.opensearch.bootstrap.OpenSearch")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Own process group: Ctrl-C in the shell that ran `up` must not stop the node.
        .process_group(0);
    let child = cmd
        .spawn()
        .context("starting java (is a JDK 11-21 installed?)")?;
    let pid = child.id();
    std::fs::write(layout.pid_file(), format!("{pid}\n"))?;
    std::fs::write(layout.port_file(), format!("{port}\n"))?;
    Ok(pid)
}

/// Waits until the node's cluster health is green or yellow.
pub fn wait_ready(layout: &Layout, pid: u32, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            bail!(
                "OpenSearch exited while starting; last log lines:\n{}",
                log_tail(layout)
            );
        }
        let health = http::get(
            port,
            "/_cluster/health?wait_for_status=yellow&timeout=2s",
            Duration::from_secs(5),
        );
        if let Ok(resp) = health {
            if resp.status == 200
                && matches!(
                    http::string_field(&resp.body, "status"),
                    Some("green" | "yellow")
                )
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!(
        "OpenSearch did not become ready in {START_TIMEOUT:?}; last log lines:\n{}",
        log_tail(layout)
    )
}

/// SIGTERM, then SIGKILL after a grace period.
pub fn stop(pid: u32) -> anyhow::Result<()> {
    signal(pid, "TERM")?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while is_alive(pid) {
        if Instant::now() > deadline {
            signal(pid, "KILL")?;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

pub fn answers_as_ours(port: u16) -> bool {
    http::get(port, "/", Duration::from_secs(2)).is_ok_and(|resp| {
        resp.status == 200 && http::string_field(&resp.body, "cluster_name") == Some(CLUSTER_NAME)
    })
}

/// Is `pid` a live OpenSearch JVM using this state folder (not a recycled pid)?
pub fn is_ours(layout: &Layout, pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    let conf = layout.state_dir.join("config");
    is_alive(pid)
        && cmdline.contains("org.opensearch.bootstrap.OpenSearch")
        && cmdline.contains(&*conf.to_string_lossy())
}

/// Alive and not a zombie (a node started by this very process lingers as one once it exits).
fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()?;
    if !status.success() && is_alive(pid) {
        bail!("kill -{name} {pid} failed ({status})");
    }
    Ok(())
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn log_tail(layout: &Layout) -> String {
    let text = std::fs::read_to_string(layout.console_log()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
