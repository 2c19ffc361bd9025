//! What `cargo xtask test` and `bench` hold for the small services (Kafka, S3): the variables for the
//! child `cargo test`, and a stop on drop when this process started the service.

/// A running service; stopped when dropped if this process started it (unless kept).
pub struct Held {
    name: &'static str,
    env: Vec<(String, String)>,
    stop: Option<fn() -> anyhow::Result<()>>,
}

impl Held {
    /// A service this process started: `down` runs on drop.
    pub fn started(
        name: &'static str,
        env: Vec<(String, String)>,
        down: fn() -> anyhow::Result<()>,
    ) -> Self {
        Held {
            name,
            env,
            stop: Some(down),
        }
    }

    /// A service someone else runs (reused, or given by the environment): left alone on drop.
    pub fn borrowed(name: &'static str, env: Vec<(String, String)>) -> Self {
        Held {
            name,
            env,
            stop: None,
        }
    }

    /// Environment for child processes (e.g. `cargo test`).
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// With `keep`, leave the service running when this handle goes away.
    pub fn keep_running(mut self, keep: bool) -> Self {
        if keep {
            self.stop = None;
        }
        self
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(down) = self.stop {
            if let Err(err) = down() {
                eprintln!("{}: stopping it failed: {err:#}", self.name);
            }
        }
    }
}

/// A free loopback port chosen by the kernel.
pub fn free_port() -> anyhow::Result<u16> {
    use anyhow::Context;
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .context("finding a free port")?
        .local_addr()?
        .port())
}

/// Does something accept TCP connections on this loopback port?
pub fn accepts(port: u16) -> bool {
    let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_ok()
}

/// The full path of a program: as given if it has a slash, else the first match on `PATH`
/// (pid files record the resolved binary, which `/proc/<pid>/exe` is compared with).
pub fn resolve_program(program: std::path::PathBuf) -> std::path::PathBuf {
    if program.components().count() > 1 {
        return program;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(&program))
        .find(|path| path.is_file())
        .unwrap_or(program)
}
