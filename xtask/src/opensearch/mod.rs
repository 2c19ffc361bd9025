//! `cargo xtask opensearch up|down|env`: a real single-node OpenSearch on loopback for tests.
//!
//! Downloads (Maven Central, via `xtask/opensearch/pom.xml`) and the assembled home are cached in
//! `~/.cache/teraslice-rs/opensearch/<version>/`; the running node's config, data, logs and pid
//! live in its `state/`, which `down` removes.
pub mod config;
mod guard;
pub mod http;
mod install;
pub mod java;
mod node;

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::ServiceAction;

pub use guard::ensure_up;
pub use install::remove_dir_if_exists;

/// The assembled OpenSearch home of [`VERSION`] (downloaded and assembled on first use).
pub fn home() -> anyhow::Result<PathBuf> {
    install::ensure_home(&Layout::new())
}

/// 2.19.x is the newest line that runs on the JDK 17 these machines have.
pub const VERSION: &str = "2.19.6";
pub const CLUSTER_NAME: &str = "teraslice-rs-test";
/// The variable tests read; `cargo xtask test` sets it.
pub const URL_VAR: &str = "OPENSEARCH_URL";
const DEFAULT_PORT: u16 = 49200;
/// Overrides the HTTP port `up` tries first.
const PORT_VAR: &str = "TERASLICE_RS_OPENSEARCH_PORT";

/// Where this version's downloads and state live.
pub struct Layout {
    version_dir: PathBuf,
    state_dir: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let version_dir = crate::paths::cache_root().join("opensearch").join(VERSION);
        let state_dir = version_dir.join("state");
        Layout {
            version_dir,
            state_dir,
        }
    }
    fn pid_file(&self) -> PathBuf {
        self.state_dir.join("opensearch.pid")
    }
    fn port_file(&self) -> PathBuf {
        self.state_dir.join("http.port")
    }
    fn console_log(&self) -> PathBuf {
        self.state_dir.join("logs").join("console.log")
    }
    /// Serialises `up`/`down` across processes (e.g. two test runs at once); released on drop.
    fn lock(&self) -> anyhow::Result<File> {
        std::fs::create_dir_all(&self.version_dir)?;
        let file = File::create(self.version_dir.join("lock"))?;
        file.lock().context("locking the OpenSearch cache folder")?;
        Ok(file)
    }
}

pub fn run(action: ServiceAction) -> anyhow::Result<()> {
    match action {
        ServiceAction::Up => println!("{}", up()?.url),
        ServiceAction::Down => down()?,
        ServiceAction::Env => println!("export {URL_VAR}={}", running_url()?),
    }
    Ok(())
}

pub struct Started {
    pub url: String,
    /// False when a node was already running and was reused.
    pub fresh: bool,
}

/// Idempotent: reuses a running node, else fetches (once) and starts one, then waits for yellow.
pub fn up() -> anyhow::Result<Started> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    match node::probe(&layout) {
        node::Probe::Running(port) => {
            return Ok(Started {
                url: url(port),
                fresh: false,
            })
        }
        node::Probe::Starting(pid, port) => {
            node::wait_ready(&layout, pid, port)?;
            return Ok(Started {
                url: url(port),
                fresh: false,
            });
        }
        node::Probe::Absent => {}
    }
    // Whatever is left belongs to a node that is gone: start clean.
    install::remove_dir_if_exists(&layout.state_dir)?;
    let home = install::ensure_home(&layout)?;
    let port = free_port()?;
    let started = Instant::now();
    eprintln!("opensearch: starting {VERSION} on 127.0.0.1:{port} ...");
    let pid = node::start(&layout, &home, port)?;
    node::wait_ready(&layout, pid, port)?;
    eprintln!(
        "opensearch: ready in {:.1}s (pid {pid})",
        started.elapsed().as_secs_f64()
    );
    Ok(Started {
        url: url(port),
        fresh: true,
    })
}

/// Stops the node by its pid file and removes its state; a no-op when nothing runs.
pub fn down() -> anyhow::Result<()> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    if let Some(pid) = std::fs::read_to_string(layout.pid_file())
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        if node::is_ours(&layout, pid) {
            eprintln!("opensearch: stopping pid {pid}");
            node::stop(pid)?;
        }
    }
    install::remove_dir_if_exists(&layout.state_dir)
}

fn running_url() -> anyhow::Result<String> {
    match node::probe(&Layout::new()) {
        node::Probe::Running(port) => Ok(url(port)),
        _ => anyhow::bail!("OpenSearch is not running: run `cargo xtask opensearch up`"),
    }
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The preferred port if nothing listens there, else the next free one above it.
fn free_port() -> anyhow::Result<u16> {
    let first = match std::env::var(PORT_VAR) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{PORT_VAR}={v:?} is not a port"))?,
        Err(_) => DEFAULT_PORT,
    };
    (first..first.saturating_add(100))
        .find(|&port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok())
        .with_context(|| format!("no free port in {first}..{}", first.saturating_add(100)))
}
