//! Sharing one plane: concurrent `cargo xtask test` runs reuse it, and the last one out stops it.
use std::fs;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::process::alive;
use super::{k8s_root, run_dir};

/// Serialises build/start/stop between processes; removed on drop.
pub struct Lock(PathBuf);

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Waits for the plane lock (a first build can hold it for a quarter of an hour).
pub fn lock() -> Result<Lock> {
    let path = k8s_root().join("lock");
    fs::create_dir_all(k8s_root()).context("creating the k8s cache folder")?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => {
                fs::write(&path, std::process::id().to_string()).context("writing the lock")?;
                return Ok(Lock(path));
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok());
                match holder {
                    // The holder died without cleaning up (or its pid now runs something else): take over.
                    Some(pid) if !is_xtask(pid) => {
                        let _ = fs::remove_file(&path);
                    }
                    // Just created, pid not written yet, or a live holder: wait.
                    _ => {
                        if !told {
                            eprintln!(
                                "k8s: waiting for another xtask using the control plane ({})",
                                path.display()
                            );
                            told = true;
                        }
                        if start.elapsed() > Duration::from_secs(3600) {
                            bail!("timed out waiting for {}", path.display());
                        }
                        sleep(Duration::from_millis(200));
                    }
                }
            }
            Err(err) => return Err(err).with_context(|| format!("creating {}", path.display())),
        }
    }
}

/// A live process running an xtask binary (a recycled pid runs something else).
fn is_xtask(pid: u32) -> bool {
    let exe = fs::read_link(format!("/proc/{pid}/exe")).ok();
    let name = exe
        .as_deref()
        .and_then(|e| e.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    alive(pid) && name.is_some_and(|n| n.starts_with("xtask"))
}

fn users_dir() -> PathBuf {
    run_dir().join("users")
}

/// Marks a plane that its users stop when the last one is done (unset by `up` and `--keep`).
fn auto_down_marker() -> PathBuf {
    run_dir().join("auto-down")
}

pub fn set_auto_down(on: bool) -> Result<()> {
    if on {
        fs::write(auto_down_marker(), "").context("writing the auto-down marker")
    } else {
        match fs::remove_file(auto_down_marker()) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).context("removing the auto-down marker")
            }
            _ => Ok(()),
        }
    }
}

pub fn auto_down() -> bool {
    auto_down_marker().exists()
}

pub fn register() -> Result<()> {
    fs::create_dir_all(users_dir()).context("creating the users folder")?;
    fs::write(users_dir().join(std::process::id().to_string()), "")
        .context("registering as a user of the plane")
}

pub fn unregister() {
    let _ = fs::remove_file(users_dir().join(std::process::id().to_string()));
}

/// Other processes still using the plane.
pub fn others() -> usize {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir(users_dir()) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && is_xtask(pid))
        .count()
}
