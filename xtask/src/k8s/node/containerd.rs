//! containerd (Debian's) with its own root, state, socket and config; runc as the runtime.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::{cni, containerd_socket, tracked, NODE_LIB, NODE_RUN, PAUSE_IMAGE};
use crate::k8s::start::wait_for;

pub const BIN: &str = "/usr/bin/containerd";
/// Shims of our containerd carry this in their command line (`-address <socket>`).
pub const SHIM: &str = "containerd-shim-runc-v2";

pub fn root() -> PathBuf {
    Path::new(NODE_LIB).join("containerd")
}

pub fn state() -> PathBuf {
    Path::new(NODE_RUN).join("containerd")
}

/// runc's state folder (`runc --root`).
pub fn runc_root() -> PathBuf {
    Path::new(NODE_RUN).join("runc")
}

fn config() -> String {
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # Processes here lack CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (the pause container
  # asks for -998) and every sandbox would fail with "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc_root}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
    max_conf_num = 1
"#,
        root = root().display(),
        state = state().display(),
        socket = containerd_socket().display(),
        runc_root = runc_root().display(),
        cni = cni::conf_dir().display(),
    )
}

pub fn start() -> Result<()> {
    let path = Path::new(NODE_RUN).join("containerd.toml");
    fs::write(&path, config()).context("writing containerd.toml")?;
    let t = tracked("containerd");
    t.spawn(
        Path::new(BIN),
        &["--config".into(), path.display().to_string()],
    )?;
    let socket = containerd_socket();
    wait_for(&t, "containerd's socket", Duration::from_secs(30), || {
        socket.exists() && super::images::ctr_ok(&["version"])
    })
}
