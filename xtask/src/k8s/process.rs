//! Background processes tracked by pid files: spawn, check, stop.
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// One component of the plane, as recorded in the run folder.
pub struct Tracked {
    pub name: &'static str,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
}

impl Tracked {
    pub fn new(run: &Path, name: &'static str) -> Self {
        Tracked {
            name,
            pid_file: run.join(format!("{name}.pid")),
            log_file: run.join(format!("{name}.log")),
        }
    }

    /// Starts `bin args` detached (own process group, output to the log) and records its pid.
    pub fn spawn(&self, bin: &Path, args: &[String]) -> Result<u32> {
        let log = fs::File::create(&self.log_file)
            .with_context(|| format!("creating {}", self.log_file.display()))?;
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C of the caller does not take the plane down mid-test.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        // /proc/<pid>/exe shows the resolved path: record that, whatever links lead to it.
        let exe = fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
        fs::write(&self.pid_file, format!("{pid}\n{}\n", exe.display()))
            .with_context(|| format!("writing {}", self.pid_file.display()))?;
        Ok(pid)
    }

    /// The recorded pid, if it still runs the recorded binary.
    pub fn live_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(&self.pid_file).ok()?;
        let mut lines = text.lines();
        let pid: u32 = lines.next()?.trim().parse().ok()?;
        let bin = lines.next()?.trim();
        let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        // A recycled pid runs some other program: not ours to signal.
        (exe.to_string_lossy().trim_end_matches(" (deleted)") == bin && alive(pid)).then_some(pid)
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_file).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after `grace`; waits until the process is gone.
    pub fn stop(&self, grace: Duration) -> Result<()> {
        let Some(pid) = self.live_pid() else {
            return Ok(());
        };
        signal(pid, "TERM")?;
        let t = Instant::now();
        while alive(pid) {
            if t.elapsed() > grace {
                signal(pid, "KILL")?;
                let t = Instant::now();
                while alive(pid) && t.elapsed() < Duration::from_secs(5) {
                    sleep(Duration::from_millis(50));
                }
                break;
            }
            sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Running and not a zombie (a zombie is dead, merely unreaped by its parent).
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name, which may itself contain spaces.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) -> Result<()> {
    // Ignore the status: the process may exit between the check and the signal.
    Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_sees_this_process_and_not_a_missing_one() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn live_pid_ignores_a_pid_running_another_binary() {
        let dir = std::env::temp_dir().join(format!("xtask-k8s-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let t = Tracked::new(&dir, "x");
        fs::write(
            &t.pid_file,
            format!("{}\n/not/this/binary\n", std::process::id()),
        )
        .expect("pid file");
        assert_eq!(t.live_pid(), None);
        let exe = std::env::current_exe().expect("current exe");
        fs::write(
            &t.pid_file,
            format!("{}\n{}\n", std::process::id(), exe.display()),
        )
        .expect("pid file");
        assert_eq!(t.live_pid(), Some(std::process::id()));
        let _ = fs::remove_dir_all(&dir);
    }
}
