//! An OpenSearch image for `examples/k8s/elasticsearchDeployment.yaml` without a registry: the
//! host's JDK and the OpenSearch home that `cargo xtask opensearch` assembles from Maven
//! Central, started by a busybox shell script with the same flags as the host node. Tagged
//! with the name the example uses.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::libs::library_entries_lenient;
use super::oci::{Config, Entry};
use crate::opensearch::config::{base_jvm_args, classpath, opensearch_yml, NodeFiles, LOG4J2};

pub const DEFAULT_TAG: &str = "opensearchproject/opensearch:2.19.1";
const HOME: &str = "/usr/share/opensearch";
const JAVA_HOME: &str = "/opt/java";
const BUSYBOX: &str = "/bin/busybox";

/// The JDK `java` on PATH (or `$OPENSEARCH_JAVA_HOME`/`$JAVA_HOME`) belongs to.
fn host_java_home() -> Result<PathBuf> {
    let java = crate::opensearch::java::tool("java");
    let java = if java.is_absolute() {
        java
    } else {
        which("java")?
    };
    let real =
        std::fs::canonicalize(&java).with_context(|| format!("resolving {}", java.display()))?;
    real.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the JDK home above bin/java")
}

fn which(name: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} is not on PATH: install a JDK 17"))
}

/// The start script: the host node's JVM flags, then `$OPENSEARCH_JAVA_OPTS` (the Deployment's
/// heap) so they win, then the class path.
fn run_script() -> String {
    let home = Path::new(HOME);
    let mut args = base_jvm_args(home, home);
    args.push("$OPENSEARCH_JAVA_OPTS".into());
    let [cp, path] = classpath(home);
    args.push(cp);
    args.push(format!("'{path}'"));
    format!(
        "#!/bin/sh\n# Written by `cargo xtask image opensearch`.\nmkdir -p {HOME}/data {HOME}/logs {HOME}/tmp\nexec {JAVA_HOME}/bin/java {} org.opensearch.bootstrap.OpenSearch\n",
        args.join(" ")
    )
}

pub fn contents() -> Result<(Vec<Entry>, Config)> {
    if !Path::new(BUSYBOX).is_file() {
        bail!("{BUSYBOX} is missing: install Debian's busybox-static package");
    }
    let jdk = host_java_home()?;
    let home = crate::opensearch::home()?;
    let yml = opensearch_yml(&NodeFiles {
        data: &Path::new(HOME).join("data"),
        logs: &Path::new(HOME).join("logs"),
        host: "0.0.0.0",
        http_port: "9200",
        transport_port: "9300",
    });
    let mut entries = vec![
        Entry::dir("/tmp", 0o1777),
        Entry::host_file("/bin/busybox", BUSYBOX, 0o755),
        Entry::symlink("/bin/sh", "busybox"),
        Entry::symlink("/bin/mkdir", "busybox"),
        Entry::host_tree(HOME, &home),
        Entry::dir(&format!("{HOME}/config"), 0o755),
        Entry::bytes(&format!("{HOME}/config/opensearch.yml"), yml, 0o644),
        Entry::bytes(&format!("{HOME}/config/log4j2.properties"), LOG4J2, 0o644),
        Entry::bytes(&format!("{HOME}/run.sh"), run_script(), 0o755),
        Entry::host_file(
            "/etc/ssl/certs/java/cacerts",
            "/etc/ssl/certs/java/cacerts",
            0o644,
        ),
    ];
    // Debian's JDK links parts of conf/ and lib/ into /etc/java-<n>-openjdk.
    for dir in std::fs::read_dir("/etc").context("reading /etc")?.flatten() {
        let name = dir.file_name().to_string_lossy().to_string();
        if name.starts_with("java-") && dir.path().is_dir() {
            entries.push(Entry::host_tree(&format!("/etc/{name}"), dir.path()));
        }
    }
    for part in ["bin", "conf", "lib"] {
        entries.push(Entry::host_tree(
            &format!("{JAVA_HOME}/{part}"),
            jdk.join(part),
        ));
    }
    entries.push(Entry::host_file(
        &format!("{JAVA_HOME}/release"),
        jdk.join("release"),
        0o644,
    ));
    let mut natives = vec![jdk.join("bin/java"), jdk.join("lib/server/libjvm.so")];
    for lib in std::fs::read_dir(jdk.join("lib"))
        .context("reading the JDK's lib")?
        .flatten()
    {
        if lib.path().extension().is_some_and(|e| e == "so") {
            natives.push(lib.path());
        }
    }
    // The JDK's own libraries are in the tree already.
    let jdk_prefix = jdk.display().to_string();
    entries.extend(
        library_entries_lenient(&natives)?
            .into_iter()
            .filter(|e| !e.path.starts_with(&jdk_prefix)),
    );
    let config = Config {
        entrypoint: vec!["/bin/sh".into(), format!("{HOME}/run.sh")],
        cmd: vec![],
        env: vec![
            "PATH=/opt/java/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            format!("JAVA_HOME={JAVA_HOME}"),
            "OPENSEARCH_JAVA_OPTS=-Xms512m -Xmx512m".into(),
        ],
        user: None,
        workdir: Some(HOME.into()),
    };
    Ok((entries, config))
}
