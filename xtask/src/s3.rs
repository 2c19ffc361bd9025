//! `cargo xtask s3 up|down|env`: an S3-compatible server (moto's, from PyPI) on loopback for tests.
//!
//! moto is installed once into a virtualenv under `~/.cache/teraslice-rs/s3/moto-<version>/venv`
//! with the machine's `python3`; the running server keeps its buckets in memory, and its pid, port
//! and log live in `state/`, which `down` removes. Any access key is accepted; `up` creates the
//! bucket `teraslice-test` (`$S3_BUCKET`) for tests.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::k8s::process::Tracked;
use crate::service::Held;
use crate::ServiceAction;

/// The moto release pinned.
const MOTO_VERSION: &str = "5.2.5";
/// What `pip install` gets: moto's S3 backend plus the two web packages its server needs. Not
/// `moto[server]`, which brings every AWS service's extras (64 packages, 318 MB, minutes more).
const PACKAGES: [&str; 3] = ["moto[s3]==5.2.5", "flask==3.1.3", "flask-cors==6.0.5"];
pub const ENDPOINT_VAR: &str = "S3_ENDPOINT";
const KEY_VAR: &str = "S3_ACCESS_KEY_ID";
const SECRET_VAR: &str = "S3_SECRET_ACCESS_KEY";
const REGION_VAR: &str = "S3_REGION";
const BUCKET_VAR: &str = "S3_BUCKET";
/// The bucket `up` creates for tests (they keep to prefixes of their own inside it).
const TEST_BUCKET: &str = "teraslice-test";
/// moto checks no signature: these only have to be non-empty.
const DEFAULT_KEYS: [(&str, &str); 4] = [
    (KEY_VAR, "teraslice-test"),
    (SECRET_VAR, "teraslice-test-secret"),
    (REGION_VAR, "us-east-1"),
    (BUCKET_VAR, TEST_BUCKET),
];
const START_TIMEOUT: Duration = Duration::from_secs(60);

struct Layout {
    version_dir: PathBuf,
    state_dir: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let version_dir = crate::paths::cache_root()
            .join("s3")
            .join(format!("moto-{MOTO_VERSION}"));
        let state_dir = version_dir.join("state");
        Layout {
            version_dir,
            state_dir,
        }
    }
    fn server(&self) -> Tracked {
        Tracked::new(&self.state_dir, "moto")
    }
    fn port_file(&self) -> PathBuf {
        self.state_dir.join("http.port")
    }
    fn python(&self) -> PathBuf {
        self.version_dir.join("venv/bin/python")
    }
    fn lock(&self) -> anyhow::Result<std::fs::File> {
        std::fs::create_dir_all(&self.version_dir)?;
        let file = std::fs::File::create(self.version_dir.join("lock"))?;
        file.lock().context("locking the S3 cache folder")?;
        Ok(file)
    }
}

pub fn run(action: ServiceAction) -> anyhow::Result<()> {
    match action {
        ServiceAction::Up => println!("{}", up()?.0),
        ServiceAction::Down => down()?,
        ServiceAction::Env => {
            for (name, value) in env_of(&running_endpoint()?) {
                println!("export {name}={value}");
            }
        }
    }
    Ok(())
}

/// Idempotent: reuses a running server, else installs (once) and starts one. Returns the
/// endpoint URL and whether this call started it.
pub fn up() -> anyhow::Result<(String, bool)> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    if let Some(port) = running_port(&layout) {
        wait_ready(&layout, port)?;
        return Ok((endpoint(port), false));
    }
    crate::opensearch::remove_dir_if_exists(&layout.state_dir)?;
    std::fs::create_dir_all(&layout.state_dir)?;
    ensure_installed(&layout)?;
    let port = crate::service::free_port()?;
    let started = Instant::now();
    eprintln!("s3: starting moto {MOTO_VERSION} on 127.0.0.1:{port} ...");
    let args = ["-m", "moto.server", "-H", "127.0.0.1", "-p"].map(String::from);
    let mut args = args.to_vec();
    args.push(port.to_string());
    layout.server().spawn(&layout.python(), &args)?;
    std::fs::write(layout.port_file(), format!("{port}\n"))?;
    wait_ready(&layout, port)?;
    create_test_bucket(port)?;
    eprintln!("s3: ready in {:.1}s", started.elapsed().as_secs_f64());
    Ok((endpoint(port), true))
}

/// Stops the server by its pid file and removes its state; a no-op when nothing runs.
pub fn down() -> anyhow::Result<()> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    let server = layout.server();
    if let Some(pid) = server.live_pid() {
        eprintln!("s3: stopping pid {pid}");
        server.stop(Duration::from_secs(10))?;
    }
    crate::opensearch::remove_dir_if_exists(&layout.state_dir)
}

/// For `cargo xtask test`/`bench`: `$S3_ENDPOINT` if set (an outside server, with the caller's
/// keys), else `up`.
pub fn ensure_up() -> anyhow::Result<Held> {
    if let Ok(url) = std::env::var(ENDPOINT_VAR) {
        eprintln!("s3: using {ENDPOINT_VAR}={url} from the environment");
        return Ok(Held::borrowed("s3", env_of(&url)));
    }
    let (url, fresh) = up()?;
    if fresh {
        Ok(Held::started("s3", env_of(&url), down))
    } else {
        eprintln!("s3: reusing the running server at {url}");
        Ok(Held::borrowed("s3", env_of(&url)))
    }
}

/// The endpoint plus keys and region: the caller's where set, else moto's placeholders.
fn env_of(url: &str) -> Vec<(String, String)> {
    let mut env = vec![(ENDPOINT_VAR.to_string(), url.to_string())];
    for (name, default) in DEFAULT_KEYS {
        let value = std::env::var(name).unwrap_or_else(|_| default.to_string());
        env.push((name.to_string(), value));
    }
    env
}

fn ensure_installed(layout: &Layout) -> anyhow::Result<()> {
    // The marker names what was installed: a changed package list installs anew.
    let marker = layout.version_dir.join("venv/.complete");
    let wanted = PACKAGES.join(" ");
    if std::fs::read_to_string(&marker).is_ok_and(|installed| installed.trim() == wanted) {
        return Ok(());
    }
    eprintln!("s3: installing {} from PyPI (once) ...", PACKAGES.join(" "));
    let started = Instant::now();
    let venv = layout.version_dir.join("venv");
    crate::opensearch::remove_dir_if_exists(&venv)?;
    quiet(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (is Python 3 with venv installed?)",
    )?;
    quiet(
        Command::new(layout.python())
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(PACKAGES),
        "pip install moto",
    )?;
    std::fs::write(&marker, format!("{wanted}\n"))?;
    eprintln!("s3: installed in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn quiet(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| what.to_string())?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn running_port(layout: &Layout) -> Option<u16> {
    layout.server().live_pid()?;
    std::fs::read_to_string(layout.port_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn running_endpoint() -> anyhow::Result<String> {
    match running_port(&Layout::new()) {
        Some(port) if crate::service::accepts(port) => Ok(endpoint(port)),
        _ => bail!("the S3 server is not running: run `cargo xtask s3 up`"),
    }
}

fn wait_ready(layout: &Layout, port: u16) -> anyhow::Result<()> {
    let server = layout.server();
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if server.live_pid().is_none() {
            bail!(
                "the S3 server (moto) exited while starting; last log lines:\n{}",
                server.log_tail(30)
            );
        }
        if crate::service::accepts(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!(
        "the S3 server did not listen in {START_TIMEOUT:?}; last log lines:\n{}",
        server.log_tail(30)
    )
}

/// moto takes unsigned requests: a plain `PUT /<bucket>` creates it.
fn create_test_bucket(port: u16) -> anyhow::Result<()> {
    let path = format!("/{TEST_BUCKET}");
    let resp = crate::opensearch::http::request(port, "PUT", &path, None, Duration::from_secs(10))?;
    if resp.status != 200 {
        bail!(
            "creating the bucket {TEST_BUCKET} failed: HTTP {}: {}",
            resp.status,
            resp.body
        );
    }
    Ok(())
}

fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}
