//! Fetches the broker's jars (and their runtime dependencies) from Maven Central, once per version.
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::{Layout, VERSION};

/// Returns the folder of jars, fetching them first if this version has none yet.
pub fn ensure_lib(layout: &Layout) -> anyhow::Result<PathBuf> {
    let lib = layout.version_dir.join("lib");
    if lib.join(".complete").is_file() {
        return Ok(lib);
    }
    eprintln!("kafka: fetching Kafka {VERSION} from Maven Central (once) ...");
    let started = std::time::Instant::now();
    let partial = layout.version_dir.join("lib.partial");
    crate::opensearch::remove_dir_if_exists(&partial)?;
    let pom = crate::paths::workspace_root().join("xtask/kafka/pom.xml");
    let out = Command::new("mvn")
        .args(["-B", "-q", "-Dstyle.color=never", "-f"])
        .arg(&pom)
        .arg(format!(
            "-Dmaven.repo.local={}",
            layout.version_dir.join("m2").display()
        ))
        .arg("dependency:copy-dependencies")
        .arg("-DincludeScope=runtime")
        .arg(format!("-Dkafka.version={VERSION}"))
        .arg(format!("-DoutputDirectory={}", partial.display()))
        .stdin(Stdio::null())
        .output()
        .context("running mvn (is Maven installed?)")?;
    if !out.status.success() {
        bail!(
            "mvn fetching Kafka {VERSION} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(partial.join(".complete"), format!("{VERSION}\n"))?;
    crate::opensearch::remove_dir_if_exists(&lib)?;
    std::fs::rename(&partial, &lib).context("moving the fetched jars into place")?;
    eprintln!("kafka: fetched in {:.1}s", started.elapsed().as_secs_f64());
    Ok(lib)
}
