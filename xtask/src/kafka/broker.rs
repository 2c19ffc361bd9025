//! One KRaft broker JVM (broker and controller in one process): config, format, launch, readiness.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::Layout;

const START_TIMEOUT: Duration = Duration::from_secs(180);
/// A fixed cluster id (base64 of 16 bytes): the state is thrown away with `down` anyway.
const CLUSTER_ID: &str = "dGVyYXNsaWNlLXJzLWthZg";
/// The line KafkaRaftServer logs once the broker serves clients.
const STARTED_LINE: &str = "Kafka Server started";

/// The port of a live broker recorded in the state folder, if any.
pub fn running_port(layout: &Layout) -> Option<u16> {
    layout.broker().live_pid()?;
    std::fs::read_to_string(layout.port_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Writes the config, formats the log folder and launches the JVM detached.
pub fn start(layout: &Layout, lib: &Path, port: u16) -> anyhow::Result<()> {
    let state = &layout.state_dir;
    let config = state.join("config");
    std::fs::create_dir_all(&config)?;
    std::fs::create_dir_all(state.join("data"))?;
    let controller_port = crate::service::free_port()?;
    let properties = config.join("server.properties");
    std::fs::write(&properties, server_properties(state, port, controller_port))?;
    std::fs::write(config.join("log4j2.properties"), LOG4J2)?;
    let java = crate::service::resolve_program(crate::opensearch::java::tool("java"));
    let classpath = format!("{}/*", lib.display());
    let format = std::process::Command::new(&java)
        .arg(log4j_flag(&config))
        .args(["-cp", &classpath, "kafka.tools.StorageTool", "format"])
        .args(["-t", CLUSTER_ID, "-c"])
        .arg(&properties)
        .arg("--ignore-formatted")
        .output()
        .context("formatting the Kafka log folder (is a JDK 17+ installed?)")?;
    if !format.status.success() {
        bail!(
            "formatting the Kafka log folder failed ({}):\n{}",
            format.status,
            String::from_utf8_lossy(&format.stderr)
        );
    }
    let mut args: Vec<String> = [
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
    ]
    .map(String::from)
    .to_vec();
    args.push(log4j_flag(&config));
    args.push(format!("-Djava.io.tmpdir={}", state.display()));
    args.extend(["-cp".into(), classpath, "kafka.Kafka".into()]);
    args.push(properties.display().to_string());
    layout.broker().spawn(&java, &args)?;
    std::fs::write(layout.port_file(), format!("{port}\n"))?;
    Ok(())
}

/// Waits until the broker logged that it started and accepts connections.
pub fn wait_ready(layout: &Layout, port: u16) -> anyhow::Result<()> {
    let broker = layout.broker();
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if broker.live_pid().is_none() {
            bail!(
                "the Kafka broker exited while starting; last log lines:\n{}",
                broker.log_tail(30)
            );
        }
        let log = std::fs::read_to_string(&broker.log_file).unwrap_or_default();
        if log.contains(STARTED_LINE) && crate::service::accepts(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    bail!(
        "the Kafka broker did not start in {START_TIMEOUT:?}; last log lines:\n{}",
        broker.log_tail(30)
    )
}

fn log4j_flag(config: &Path) -> String {
    format!(
        "-Dlog4j2.configurationFile={}",
        config.join("log4j2.properties").display()
    )
}

/// One process as broker and controller, loopback only, single replica everywhere.
fn server_properties(state: &Path, port: u16, controller_port: u16) -> String {
    format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller_port}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n\
         log.dirs={data}\n\
         num.partitions=1\n\
         auto.create.topics.enable=true\n\
         offsets.topic.replication.factor=1\n\
         offsets.topic.num.partitions=4\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         # Tests start consumer groups often: no 3 s wait for more members.\n\
         group.initial.rebalance.delay.ms=0\n",
        data = state.join("data").display()
    )
}

/// Everything to stdout (the log file `Tracked` opens); INFO so the started line shows.
const LOG4J2: &str = "status = error\n\
appender.console.type = Console\n\
appender.console.name = console\n\
appender.console.layout.type = PatternLayout\n\
appender.console.layout.pattern = [%d{ISO8601}] %p %m (%c)%n\n\
rootLogger.level = info\n\
rootLogger.appenderRef.console.ref = console\n";
