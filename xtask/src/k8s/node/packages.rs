//! The Debian packages the node runs on, installed with apt-get when missing.
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// (a file the package installs, the package).
const NEEDED: [(&str, &str); 11] = [
    ("/usr/bin/containerd", "containerd"),
    ("/usr/bin/ctr", "containerd"),
    ("/usr/sbin/runc", "runc"),
    ("/usr/lib/cni/bridge", "containernetworking-plugins"),
    ("/usr/sbin/iptables", "iptables"),
    ("/usr/sbin/conntrack", "conntrack"),
    ("/bin/busybox", "busybox-static"),
    // PID 1 of the teraslice image (`cargo xtask image`), as in examples/k8s/Dockerfile.
    ("/usr/bin/tini-static", "tini"),
    ("/sbin/ip", "iproute2"),
    ("/usr/bin/gcc", "gcc"),
    ("/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev"),
];

/// Installs whatever is missing (`apt-get update` once, then `apt-get install`).
pub fn ensure() -> Result<()> {
    let mut missing: Vec<&str> = NEEDED
        .iter()
        .filter(|(file, _)| !Path::new(file).exists())
        .map(|&(_, package)| package)
        .collect();
    // busybox (dynamic) provides /bin/busybox too, but a container needs the static one.
    if !missing.contains(&"busybox-static") && !static_busybox() {
        missing.push("busybox-static");
    }
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("k8s: node: installing {}", missing.join(" "));
    install(&missing)
}

/// `apt-get update`, then `apt-get install` of `packages` (also used for the web view's browser).
pub fn install(packages: &[&str]) -> Result<()> {
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    apt(&args)
}

fn static_busybox() -> bool {
    Command::new("dpkg")
        .args(["-s", "busybox-static"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn apt(args: &[&str]) -> Result<()> {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .context("running apt-get (installing Debian packages the tests need)")?;
    if !out.status.success() {
        bail!(
            "apt-get {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
