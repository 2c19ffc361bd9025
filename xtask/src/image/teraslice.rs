//! The `teraslice` image without a Docker daemon: the same file system, entrypoint, command,
//! user and environment as `examples/k8s/Dockerfile`, assembled from the host's release binary,
//! the shared libraries it links, Debian's static tini and the host's CA certificates.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::libs::library_entries;
use super::oci::{Config, Entry};

/// The name the guide and examples/k8s use.
pub const DEFAULT_TAG: &str = "teraslice-k8sdev:1";
const TINI: &str = "/usr/bin/tini-static";
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// uid/gid of the Dockerfile's `teraslice` user (the pods run as non-root 10001).
const UID: u32 = 10001;

/// The entries and config of the image for the release binary `binary`.
pub fn contents(binary: &Path) -> Result<(Vec<Entry>, Config)> {
    for (file, package) in [(TINI, "tini"), (CA_BUNDLE, "ca-certificates")] {
        if !Path::new(file).is_file() {
            bail!("{file} is missing: install Debian's {package} package");
        }
    }
    let mut entries = vec![
        Entry::dir("/tmp", 0o1777),
        Entry::dir("/app", 0o755),
        Entry::dir("/app/config", 0o755),
        Entry::dir("/app/assets", 0o777),
        Entry::bytes("/etc/passwd", passwd(), 0o644),
        Entry::bytes("/etc/group", group(), 0o644),
        Entry::bytes("/etc/nsswitch.conf", "hosts: files dns\n", 0o644),
        Entry::host_file(CA_BUNDLE, CA_BUNDLE, 0o644),
        Entry::host_file("/usr/bin/tini", TINI, 0o755),
        Entry::host_file("/usr/local/bin/teraslice", binary, 0o755),
    ];
    entries.extend(library_entries(&[PathBuf::from(binary)])?);
    let config = Config {
        entrypoint: vec!["/usr/bin/tini".into(), "--".into(), "teraslice".into()],
        cmd: vec!["master".into()],
        env: vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            "TERAFOUNDATION_CONFIG=/app/config/teraslice.yaml".into(),
            format!("SSL_CERT_FILE={CA_BUNDLE}"),
        ],
        user: Some(format!("{UID}:{UID}")),
        workdir: Some("/app".into()),
    };
    Ok((entries, config))
}

fn passwd() -> String {
    format!("root:x:0:0:root:/root:/sbin/nologin\nteraslice:x:{UID}:{UID}:teraslice:/app:/sbin/nologin\n")
}

fn group() -> String {
    format!("root:x:0:\nteraslice:x:{UID}:\n")
}

/// `cargo build --release -p teraslice`; the binary's path.
pub fn build_release_binary() -> Result<PathBuf> {
    let root = crate::paths::workspace_root();
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--release", "--locked", "-p", "teraslice"])
            .status()
            .context("running cargo build --release -p teraslice")?;
    if !status.success() {
        bail!("cargo build --release -p teraslice failed ({status})");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("release").join("teraslice");
    if !binary.is_file() {
        bail!("{} is missing after the build", binary.display());
    }
    Ok(binary)
}
