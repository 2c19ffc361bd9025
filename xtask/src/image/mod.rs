//! Container images without a Docker daemon or registry: written as docker-archive tars
//! ([`oci`]) and imported into the real node's containerd.
pub mod cli;
mod libs;
pub mod oci;
mod opensearch;
mod teraslice;

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Imports a docker-archive (or OCI) tar into the running node's containerd (namespace `k8s.io`,
/// where the kubelet finds images). Pods use it with `imagePullPolicy: IfNotPresent` or `Never`.
pub fn import_image(tar_path: &Path) -> Result<()> {
    let socket = crate::k8s::node::containerd_socket();
    if !socket.exists() {
        bail!(
            "the real node's containerd is not running ({} is missing): run `cargo xtask k8s up`",
            socket.display()
        );
    }
    import_into(&socket, tar_path)
}

/// `ctr images import` into the containerd listening on `socket`.
pub fn import_into(socket: &Path, tar_path: &Path) -> Result<()> {
    let out = Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["--namespace", "k8s.io", "images", "import"])
        .arg(tar_path)
        .output()
        .context("running ctr (Debian package containerd)")?;
    if !out.status.success() {
        bail!(
            "ctr images import {} failed: {}{}",
            tar_path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
