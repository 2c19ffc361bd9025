//! The node's own images, written with `crate::image::oci` and imported into its containerd:
//! the pause image (the sandbox) and Debian's busybox-static as `localhost/busybox:test`.
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::{containerd_socket, BUSYBOX_IMAGE, NODE_RUN, PAUSE_IMAGE};
use crate::image::oci::{write_docker_archive, Config, Entry};
use crate::k8s::build::Binaries;

/// `ctr` against the node's containerd (namespace k8s.io) succeeded.
pub fn ctr_ok(args: &[&str]) -> bool {
    Command::new("ctr")
        .arg("--address")
        .arg(containerd_socket())
        .args(["--namespace", "k8s.io"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn import_node_images(bins: &Binaries) -> Result<()> {
    let dir = Path::new(NODE_RUN).join("images");
    let pause = dir.join("pause.tar");
    write_docker_archive(
        &pause,
        &[PAUSE_IMAGE],
        &[Entry::host_file("/pause", &bins.pause, 0o755)],
        &Config {
            entrypoint: vec!["/pause".into()],
            ..Config::default()
        },
    )
    .context("writing the pause image")?;
    let busybox = dir.join("busybox.tar");
    write_docker_archive(
        &busybox,
        &[BUSYBOX_IMAGE],
        &busybox_entries()?,
        &Config {
            cmd: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            ..Config::default()
        },
    )
    .context("writing the busybox image")?;
    for tar in [&pause, &busybox] {
        crate::image::import_into(&containerd_socket(), tar)?;
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
}

/// /bin/busybox plus a link per applet, /tmp, and the few /etc files tools expect. (glibc >= 2.34
/// has its `files` and `dns` name services built in: the static busybox resolves cluster names.)
fn busybox_entries() -> Result<Vec<Entry>> {
    let out = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .context("running busybox --list")?;
    let mut entries = vec![
        Entry::host_file("/bin/busybox", "/bin/busybox", 0o755),
        Entry::dir("/tmp", 0o1777),
        Entry::bytes(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            0o644,
        ),
        Entry::bytes("/etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644),
        Entry::dir("/root", 0o700),
        Entry::bytes(
            "/etc/nsswitch.conf",
            "hosts: files dns\npasswd: files\ngroup: files\n",
            0o644,
        ),
    ];
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let applet = applet.trim();
        if !applet.is_empty() && applet != "busybox" && !applet.contains('/') {
            entries.push(Entry::symlink(&format!("/bin/{applet}"), "busybox"));
        }
    }
    Ok(entries)
}
