//! The node's config folder (opensearch.yml, log4j2.properties, jvm.options) and JVM command line.
use std::path::Path;

use super::{Layout, CLUSTER_NAME};

/// Small heap: the node holds test data only, on a 2-core machine shared with the build.
const HEAP: [&str; 2] = ["-Xms512m", "-Xmx1g"];

/// Where a node keeps its files and how it listens: the host node of `up`, or the image's.
pub struct NodeFiles<'a> {
    pub data: &'a Path,
    pub logs: &'a Path,
    pub host: &'a str,
    pub http_port: &'a str,
    pub transport_port: &'a str,
}

/// The opensearch.yml of a single node.
pub fn opensearch_yml(node: &NodeFiles) -> String {
    format!(
        "cluster.name: {CLUSTER_NAME}\n\
         node.name: xtask-node\n\
         path.data: {data}\n\
         path.logs: {logs}\n\
         network.host: {host}\n\
         http.port: {http}\n\
         transport.port: {transport}\n\
         discovery.type: single-node\n\
         bootstrap.memory_lock: false\n\
         # JNA's native half is off (see jvm_args): no seccomp filter, no console handler.\n\
         bootstrap.system_call_filter: false\n\
         bootstrap.ctrlhandler: false\n\
         # Test machines run with nearly full disks: never block writes on disk usage.\n\
         cluster.routing.allocation.disk.threshold_enabled: false\n\
         # Teraslice makes an index per day and store; tests make many.\n\
         cluster.max_shards_per_node: 10000\n",
        data = node.data.display(),
        logs = node.logs.display(),
        host = node.host,
        http = node.http_port,
        transport = node.transport_port,
    )
}

pub fn write(layout: &Layout, port: u16) -> anyhow::Result<()> {
    let state = &layout.state_dir;
    let conf = state.join("config");
    let yml = opensearch_yml(&NodeFiles {
        data: &state.join("data"),
        logs: &state.join("logs"),
        host: "127.0.0.1",
        http_port: &port.to_string(),
        transport_port: "49300-49399",
    });
    std::fs::write(conf.join("opensearch.yml"), yml)?;
    std::fs::write(conf.join("log4j2.properties"), LOG4J2)?;
    // Not read by the bootstrap (xtask passes the flags itself); kept so the folder documents them.
    std::fs::write(conf.join("jvm.options"), format!("{}\n", HEAP.join("\n")))?;
    Ok(())
}

pub fn jvm_args(layout: &Layout, home: &Path) -> anyhow::Result<Vec<String>> {
    let mut args = base_jvm_args(home, &layout.state_dir);
    // Caller's extra JVM flags win over the defaults above (e.g. a bigger -Xmx).
    if let Ok(extra) = std::env::var("OPENSEARCH_JAVA_OPTS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    args.extend(classpath(home));
    Ok(args)
}

/// `-cp <home>/lib/*` (the JVM expands the wildcard itself).
pub fn classpath(home: &Path) -> [String; 2] {
    ["-cp".into(), format!("{}/*", home.join("lib").display())]
}

/// The JVM flags of a node whose config, tmp and logs folders are under `state`.
pub fn base_jvm_args(home: &Path, state: &Path) -> Vec<String> {
    let mut args: Vec<String> = HEAP.iter().map(|s| s.to_string()).collect();
    args.extend(
        [
            "-XX:+UseG1GC",
            // C1 only: halves start time on 2 busy cores; test traffic never needs C2's peak speed.
            "-XX:TieredStopAtLevel=1",
            "-Dfile.encoding=UTF-8",
            "-Djava.awt.headless=true",
            // JNA without its native half: OpenSearch then cannot see that it runs as root (CI does)
            // and skips the refusal, and the seccomp, mlockall and rlimit calls tests don't need.
            "-Djna.nosys=true",
            "-Djna.noclasspath=true",
            "-Dio.netty.noUnsafe=true",
            "-Dio.netty.noKeySetOptimization=true",
            "-Dio.netty.recycler.maxCapacityPerThread=0",
            "-Dlog4j.shutdownHookEnabled=false",
            "-Dlog4j2.disable.jmx=true",
            "-Dlog4j2.formatMsgNoLookups=true",
            // Same date/number parsing as the shipped jvm.options on JDK 9+.
            "-Djava.locale.providers=SPI,COMPAT",
            // JDK 18+ refuse OpenSearch's security manager without it; JDK 17 accepts it.
            "-Djava.security.manager=allow",
            "-Dopensearch.distribution.type=tar",
            "-Dopensearch.bundled_jdk=false",
        ]
        .map(String::from),
    );
    args.push(format!("-Djava.io.tmpdir={}", state.join("tmp").display()));
    args.push(format!(
        "-XX:ErrorFile={}",
        state.join("logs/hs_err_pid%p.log").display()
    ));
    args.push(format!("-Dopensearch.path.home={}", home.display()));
    args.push(format!(
        "-Dopensearch.path.conf={}",
        state.join("config").display()
    ));
    args
}

/// Everything to stdout, which xtask sends to `state/logs/console.log`.
pub const LOG4J2: &str = "status = error\n\
appender.console.type = Console\n\
appender.console.name = console\n\
appender.console.layout.type = PatternLayout\n\
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n\n\
rootLogger.level = info\n\
rootLogger.appenderRef.console.ref = console\n\
logger.deprecation.name = org.opensearch.deprecation\n\
logger.deprecation.level = error\n";
