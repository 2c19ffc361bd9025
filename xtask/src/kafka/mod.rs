//! `cargo xtask kafka up|down|env|perf`: a real single-node KRaft Kafka broker on loopback for tests.
//!
//! The broker, its tools and a log4j2 binding come from Maven Central (`xtask/kafka/pom.xml`) and
//! run on the machine's JDK; jars are cached in `~/.cache/teraslice-rs/kafka/<version>/lib`. The
//! running broker's config, data, log, pid and port live in its `state/`, which `down` removes.
mod broker;
mod install;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::k8s::process::Tracked;
use crate::service::Held;

/// The newest 4.x line Maven Central served whole here when this was written; runs on JDK 17.
pub const VERSION: &str = "4.1.1";
/// The variable tests read (`host:port[,host:port]`); `cargo xtask test` sets it.
pub const BROKERS_VAR: &str = "KAFKA_BROKERS";

#[derive(Subcommand)]
pub enum KafkaAction {
    /// Fetch (once, cached) and start; reuses a running broker. Prints `127.0.0.1:port`.
    Up,
    /// Stop what `up` started and remove its state (topics, offsets, logs).
    Down,
    /// Print `export KAFKA_BROKERS=127.0.0.1:port` for a shell.
    Env,
    /// Run the broker's own perf tool against it: `producer` runs `kafka-producer-perf-test`
    /// (org.apache.kafka.tools.ProducerPerformance), `consumer` `kafka-consumer-perf-test`
    /// (ConsumerPerformance); the arguments after `--` go to the tool unchanged.
    Perf {
        #[arg(value_enum)]
        tool: PerfTool,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum PerfTool {
    Producer,
    Consumer,
}

impl PerfTool {
    fn class(self) -> &'static str {
        match self {
            PerfTool::Producer => "org.apache.kafka.tools.ProducerPerformance",
            PerfTool::Consumer => "org.apache.kafka.tools.ConsumerPerformance",
        }
    }
}

/// Where this version's jars and the running broker's state live.
pub struct Layout {
    version_dir: PathBuf,
    state_dir: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let version_dir = crate::paths::cache_root().join("kafka").join(VERSION);
        let state_dir = version_dir.join("state");
        Layout {
            version_dir,
            state_dir,
        }
    }
    fn broker(&self) -> Tracked {
        Tracked::new(&self.state_dir, "kafka")
    }
    fn port_file(&self) -> PathBuf {
        self.state_dir.join("broker.port")
    }
    /// Serialises `up`/`down` across processes; released on drop.
    fn lock(&self) -> anyhow::Result<std::fs::File> {
        std::fs::create_dir_all(&self.version_dir)?;
        let file = std::fs::File::create(self.version_dir.join("lock"))?;
        file.lock().context("locking the Kafka cache folder")?;
        Ok(file)
    }
}

pub fn run(action: KafkaAction) -> anyhow::Result<()> {
    match action {
        KafkaAction::Up => println!("{}", up()?.0),
        KafkaAction::Down => down()?,
        KafkaAction::Env => println!("export {BROKERS_VAR}={}", running_brokers()?),
        KafkaAction::Perf { tool, args } => {
            let status = perf_command(tool)?
                .args(args)
                .status()
                .context("running the Kafka perf tool")?;
            if !status.success() {
                bail!("{} failed ({status})", tool.class());
            }
        }
    }
    Ok(())
}

/// `java -cp <lib>/* <tool class>`: the broker's own perf tool, ready for its arguments.
pub fn perf_command(tool: PerfTool) -> anyhow::Result<Command> {
    let lib = install::ensure_lib(&Layout::new())?;
    let mut cmd = Command::new(crate::opensearch::java::tool("java"));
    cmd.args(["-Xmx512m", "-cp"])
        .arg(format!("{}/*", lib.display()))
        .arg(tool.class());
    Ok(cmd)
}

/// Where `teraslice-bench` finds the broker's perf tools: the `java` to run and the classpath of
/// this version's jars (fetched once), as `KAFKA_TOOLS_JAVA` / `KAFKA_TOOLS_CLASSPATH`.
pub fn tools_env() -> anyhow::Result<Vec<(String, String)>> {
    let lib = install::ensure_lib(&Layout::new())?;
    let java = crate::service::resolve_program(crate::opensearch::java::tool("java"));
    Ok(vec![
        ("KAFKA_TOOLS_JAVA".into(), java.display().to_string()),
        (
            "KAFKA_TOOLS_CLASSPATH".into(),
            format!("{}/*", lib.display()),
        ),
    ])
}

/// Idempotent: reuses a running broker, else fetches (once) and starts one. Returns the
/// bootstrap address and whether this call started it.
pub fn up() -> anyhow::Result<(String, bool)> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    if let Some(port) = broker::running_port(&layout) {
        broker::wait_ready(&layout, port)?;
        return Ok((address(port), false));
    }
    // Whatever is left belongs to a broker that is gone: start clean.
    crate::opensearch::remove_dir_if_exists(&layout.state_dir)?;
    let lib = install::ensure_lib(&layout)?;
    let port = crate::service::free_port()?;
    let started = Instant::now();
    eprintln!("kafka: starting {VERSION} on 127.0.0.1:{port} ...");
    broker::start(&layout, &lib, port)?;
    broker::wait_ready(&layout, port)?;
    eprintln!("kafka: ready in {:.1}s", started.elapsed().as_secs_f64());
    Ok((address(port), true))
}

/// Stops the broker by its pid file and removes its state; a no-op when nothing runs.
pub fn down() -> anyhow::Result<()> {
    let layout = Layout::new();
    let _lock = layout.lock()?;
    let broker = layout.broker();
    if let Some(pid) = broker.live_pid() {
        eprintln!("kafka: stopping pid {pid}");
        broker.stop(std::time::Duration::from_secs(30))?;
    }
    crate::opensearch::remove_dir_if_exists(&layout.state_dir)
}

/// For `cargo xtask test`/`bench`: `$KAFKA_BROKERS` if set (an outside broker), else `up`.
pub fn ensure_up() -> anyhow::Result<Held> {
    if let Ok(brokers) = std::env::var(BROKERS_VAR) {
        eprintln!("kafka: using {BROKERS_VAR}={brokers} from the environment");
        return Ok(Held::borrowed("kafka", vec![(BROKERS_VAR.into(), brokers)]));
    }
    let (brokers, fresh) = up()?;
    let env = vec![(BROKERS_VAR.to_string(), brokers.clone())];
    if fresh {
        Ok(Held::started("kafka", env, down))
    } else {
        eprintln!("kafka: reusing the running broker at {brokers}");
        Ok(Held::borrowed("kafka", env))
    }
}

fn running_brokers() -> anyhow::Result<String> {
    match broker::running_port(&Layout::new()) {
        Some(port) if crate::service::accepts(port) => Ok(address(port)),
        _ => bail!("Kafka is not running: run `cargo xtask kafka up`"),
    }
}

fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}
