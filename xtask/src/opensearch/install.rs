//! Assembles an OpenSearch home (bin, lib, modules) from Maven Central artifacts, once per version.
//!
//! The base is the `integ-test-zip` distribution (server, libs, transport-netty4); the modules that a
//! full distribution also bundles and Teraslice's storage may use are added from their jars, each with
//! the descriptor and security policy the distribution would ship beside it.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::{Layout, VERSION};

/// One bundled module: its folder name, Maven artifact, plugin class, parent plugin and policy.
struct Module {
    name: &'static str,
    artifact: &'static str,
    classname: &'static str,
    extends: &'static str,
    policy: &'static str,
}

const MODULES: &[Module] = &[
    Module {
        name: "lang-painless",
        artifact: "lang-painless",
        classname: "org.opensearch.painless.PainlessPlugin",
        extends: "",
        // Painless compiles scripts into classes of its own loader.
        policy: "grant {\n  permission java.lang.RuntimePermission \"createClassLoader\";\n  \
                 permission java.lang.RuntimePermission \"getClassLoader\";\n};\n",
    },
    Module {
        name: "analysis-common",
        artifact: "analysis-common",
        classname: "org.opensearch.analysis.common.CommonAnalysisPlugin",
        extends: "lang-painless",
        policy: "",
    },
    Module {
        name: "mapper-extras",
        artifact: "mapper-extras-client",
        classname: "org.opensearch.index.mapper.MapperExtrasPlugin",
        extends: "",
        policy: "",
    },
    Module {
        name: "reindex",
        artifact: "reindex-client",
        classname: "org.opensearch.index.reindex.ReindexPlugin",
        extends: "",
        // Reindex-from-remote opens sockets through the REST client.
        policy: "grant {\n  permission java.net.SocketPermission \"*\", \"connect\";\n};\n",
    },
];

/// Returns the assembled home, building it first if this version has none yet.
pub fn ensure_home(layout: &Layout) -> anyhow::Result<PathBuf> {
    let home = layout.version_dir.join("home");
    if home.join(".complete").is_file() {
        return Ok(home);
    }
    eprintln!("opensearch: fetching OpenSearch {VERSION} from Maven Central (once) ...");
    let started = std::time::Instant::now();
    let partial = layout.version_dir.join("home.partial");
    let downloads = layout.version_dir.join("downloads");
    for dir in [&partial, &downloads] {
        remove_dir_if_exists(dir)?;
    }
    std::fs::create_dir_all(&partial)?;

    let zip_dir = downloads.join("dist");
    maven_copy(
        layout,
        "org.opensearch.distribution.integ-test-zip",
        "opensearch",
        "zip",
        &zip_dir,
    )?;
    let zip = single_file(&zip_dir)?;
    run(
        Command::new(super::java::tool("jar"))
            .arg("xf")
            .arg(&zip)
            .current_dir(&partial),
        "unpacking the distribution",
    )?;
    let unpacked = partial.join(format!("opensearch-{VERSION}"));
    let lib = unpacked.join("lib");
    for module in MODULES {
        let dir = unpacked.join("modules").join(module.name);
        maven_copy(
            layout,
            "org.opensearch.plugin",
            module.artifact,
            "jar",
            &dir,
        )?;
        drop_jars_in(&dir, &lib)?;
        write_descriptor(module, &dir)?;
    }
    std::fs::write(unpacked.join(".complete"), format!("{VERSION}\n"))?;
    remove_dir_if_exists(&home)?;
    std::fs::rename(&unpacked, &home).context("moving the assembled home into place")?;
    remove_dir_if_exists(&partial)?;
    remove_dir_if_exists(&downloads)?;
    eprintln!(
        "opensearch: fetched and assembled in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(home)
}

/// `mvn dependency:copy-dependencies` of one artifact (and its runtime deps) into `out`.
fn maven_copy(
    layout: &Layout,
    group: &str,
    artifact: &str,
    kind: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let pom = crate::paths::workspace_root().join("xtask/opensearch/pom.xml");
    let mut cmd = Command::new("mvn");
    cmd.args(["-B", "-q", "-Dstyle.color=never", "-f"])
        .arg(&pom)
        .arg(format!(
            "-Dmaven.repo.local={}",
            layout.version_dir.join("m2").display()
        ))
        .arg("dependency:copy-dependencies")
        .args([
            format!("-Dos.group={group}"),
            format!("-Dos.artifact={artifact}"),
        ])
        .args([
            format!("-Dos.version={VERSION}"),
            format!("-Dos.type={kind}"),
        ])
        .arg(format!("-DoutputDirectory={}", out.display()));
    run(
        &mut cmd,
        &format!("mvn fetching {group}:{artifact}:{VERSION} (is Maven installed?)"),
    )
}

/// Removes jars that the server's lib/ already has: a second copy would fail OpenSearch's jar-hell check.
fn drop_jars_in(dir: &Path, lib: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| lib.join(name).exists()) {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn write_descriptor(module: &Module, dir: &Path) -> anyhow::Result<()> {
    let descriptor = format!(
        "description={name} module (assembled by cargo xtask)\nversion={VERSION}\nname={name}\n\
         classname={class}\njava.version=11\nopensearch.version={VERSION}\ncustom.foldername=\n\
         extended.plugins={extends}\nhas.native.controller=false\n",
        name = module.name,
        class = module.classname,
        extends = module.extends,
    );
    std::fs::write(dir.join("plugin-descriptor.properties"), descriptor)?;
    if !module.policy.is_empty() {
        std::fs::write(dir.join("plugin-security.policy"), module.policy)?;
    }
    Ok(())
}

fn single_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let mut files = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    match (files.pop(), files.is_empty()) {
        (Some(file), true) => Ok(file.path()),
        _ => bail!("expected exactly one file in {}", dir.display()),
    }
}

/// Runs quietly (the URL stays the only thing `up` prints); shows the tool's output if it fails.
fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| what.to_string())?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        bail!("{what} failed ({}):\n{text}", out.status);
    }
    Ok(())
}

pub fn remove_dir_if_exists(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}
