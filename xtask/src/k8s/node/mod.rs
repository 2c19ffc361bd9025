//! One real node next to the kwok nodes: containerd + runc + CNI bridge, kubelet, kube-proxy and
//! CoreDNS, all started by xtask as host processes.
//!
//! Machine-wide (there is one real node per machine): the bridge [`BRIDGE`] with the node's
//! address [`NODE_IP`] on the pod subnet [`POD_SUBNET`], state in [`NODE_RUN`] (sockets, pid
//! files, logs, configs) and [`NODE_LIB`] (containerd's images, the kubelet's root).
//! `cargo xtask k8s down` removes all of it (see `cleanup.rs`).
mod cleanup;
mod cni;
mod containerd;
mod dns;
mod images;
mod kubelet;
mod netfilter;
pub mod packages;
mod proxy;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use super::build::Binaries;
use super::certs::Pki;
use super::process::Tracked;

pub use cleanup::{delete_node_object, down};

/// Bump when the node's setup changes: a running plane with another revision is restarted by `up`.
pub const NODE_REV: &str = "2";

/// The node's name (its Node object and `kubernetes.io/hostname`).
pub const NODE_NAME: &str = "kubelet-0";
/// Label and NoSchedule taint of the real node (the kwok nodes have `teraslice-rs/node=kwok`).
pub const LABEL_KEY: &str = "teraslice-rs/node";
pub const LABEL_VALUE: &str = "kubelet";
/// The host bridge the pods' veths attach to; it carries the node's address.
pub const BRIDGE: &str = "ts-cni0";
/// Pod addresses (not overlapping kwok's fake 10.244.0.0/16 or the Services' 10.96.0.0/16).
pub const POD_SUBNET: &str = "10.88.0.0/24";
/// The bridge's address: the pods' gateway, the node's InternalIP (the apiserver dials the kubelet
/// here), the apiserver's advertised address (the `kubernetes` Service) and CoreDNS' address.
pub const NODE_IP: &str = "10.88.0.1";
/// The kubelet's port on NODE_IP.
pub const KUBELET_PORT: u16 = 10250;
/// The `kube-dns` Service's ClusterIP (kubelet `clusterDNS`).
pub const DNS_SERVICE_IP: &str = "10.96.0.10";
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// Sockets, pid files, logs and configs of the node's processes.
pub const NODE_RUN: &str = "/run/teraslice-rs-node";
/// containerd's root (images, snapshots), the kubelet's root dir, pod logs.
pub const NODE_LIB: &str = "/var/lib/teraslice-rs-node";
/// The pause image (containerd's `sandbox_image`) and the busybox test image.
pub const PAUSE_IMAGE: &str = "localhost/pause:teraslice-rs";
pub const BUSYBOX_IMAGE: &str = "localhost/busybox:test";

/// Set to 0 to start the plane without the real node (kwok nodes only).
pub const NODE_ENV: &str = "TERASLICE_K8S_NODE";

/// The real node is part of `up` unless `TERASLICE_K8S_NODE=0`.
pub fn enabled() -> bool {
    !std::env::var(NODE_ENV).is_ok_and(|v| v == "0" || v == "false")
}

/// containerd's socket (for `ctr` and image imports).
pub fn containerd_socket() -> PathBuf {
    Path::new(NODE_RUN).join("containerd.sock")
}

/// `<key>=<value>`: what the namespace annotation `scheduler.alpha.kubernetes.io/node-selector` takes.
pub fn node_selector() -> String {
    format!("{LABEL_KEY}={LABEL_VALUE}")
}

/// The tolerations (JSON) for `scheduler.alpha.kubernetes.io/defaultTolerations`.
pub fn tolerations_json() -> String {
    serde_json::json!([{
        "key": LABEL_KEY,
        "operator": "Equal",
        "value": LABEL_VALUE,
        "effect": "NoSchedule",
    }])
    .to_string()
}

/// The node's processes in start order; stopped in reverse.
pub const COMPONENTS: [&str; 4] = ["containerd", "kubelet", "kube-proxy", "coredns"];

pub fn tracked(name: &'static str) -> Tracked {
    Tracked::new(Path::new(NODE_RUN), name)
}

/// What the node needs from the plane.
pub struct Plane<'a> {
    pub bins: &'a Binaries,
    pub pki: &'a Pki,
    /// `https://127.0.0.1:<port>`.
    pub server: &'a str,
    pub admin_kubeconfig: &'a Path,
}

/// The Debian packages the node (and building its pause program) needs, installed if missing.
pub fn ensure_packages() -> Result<()> {
    packages::ensure()
}

/// Records which plane (its run folder) the node serves: one node per machine.
fn owner_file() -> PathBuf {
    Path::new(NODE_RUN).join("owner")
}

/// The run folder of another, running plane whose apiserver the node serves (started from
/// another cache root, `TERASLICE_RS_CACHE`): that plane's node must be left alone.
pub fn foreign_owner(our_run: &Path) -> Option<String> {
    // Nothing running: whatever is left is leftovers, ours to remove.
    tracked("kubelet").live_pid()?;
    match std::fs::read_to_string(owner_file()) {
        Ok(owner) => {
            let owner = PathBuf::from(owner.trim());
            let alive = Tracked::new(&owner, "kube-apiserver").live_pid().is_some();
            (owner != our_run && alive).then(|| owner.display().to_string())
        }
        // A running kubelet of unknown origin: not ours if it talks to another apiserver.
        Err(_) => {
            let kubeconfig =
                std::fs::read_to_string(Path::new(NODE_RUN).join("kubelet.kubeconfig"));
            let ports = std::fs::read_to_string(our_run.join("ports")).unwrap_or_default();
            let our_port = ports
                .lines()
                .find_map(|l| l.strip_prefix("apiserver="))
                .unwrap_or("none");
            let ours = kubeconfig
                .is_ok_and(|k| k.contains(&format!("server: https://127.0.0.1:{our_port}\n")));
            (!ours).then(|| "another cache root (run folder unknown)".to_string())
        }
    }
}

/// Before the plane starts: packages, sysctls, the bridge (the apiserver advertises its address).
pub fn prepare(our_run: &Path) -> Result<()> {
    std::fs::create_dir_all(NODE_RUN).with_context(|| format!("creating {NODE_RUN}"))?;
    std::fs::create_dir_all(NODE_LIB).with_context(|| format!("creating {NODE_LIB}"))?;
    std::fs::write(owner_file(), our_run.display().to_string())
        .context("writing the node's owner")?;
    cni::setup()
}

/// Starts containerd, the kubelet, kube-proxy and CoreDNS; returns once a pod could run there
/// (node Ready) and DNS answers through the `kube-dns` Service.
pub fn start(plane: &Plane) -> Result<()> {
    let t = Instant::now();
    containerd::start()?;
    images::import_node_images(plane.bins)?;
    eprintln!(
        "k8s: node: containerd ready with images in {:.1?}",
        t.elapsed()
    );
    dns::apply_objects(plane)?;
    kubelet::start(plane)?;
    proxy::start(plane)?;
    dns::start(plane)?;
    kubelet::wait_ready(plane)?;
    dns::wait_ready()?;
    eprintln!("k8s: node {NODE_NAME} ready in {:.1?}", t.elapsed());
    Ok(())
}

/// True when every node process runs for the plane in `our_run`.
pub fn is_running(our_run: &Path) -> bool {
    COMPONENTS.iter().all(|c| tracked(c).live_pid().is_some())
        && std::fs::read_to_string(owner_file()).is_ok_and(|o| Path::new(o.trim()) == our_run)
}

/// Prints the last log lines of node processes that are not running (after a failed start).
pub fn report_dead() {
    for name in COMPONENTS {
        let t = tracked(name);
        if t.log_file.exists() && t.live_pid().is_none() {
            eprintln!(
                "k8s: {} is not running; last log lines:\n{}",
                t.name,
                t.log_tail(20)
            );
        }
    }
}

/// The variables tests read to place pods on the real node.
pub fn env_vars() -> Vec<(String, String)> {
    vec![
        ("TERASLICE_K8S_REAL_NODE".into(), NODE_NAME.into()),
        ("TERASLICE_K8S_REAL_NODE_SELECTOR".into(), node_selector()),
        (
            "TERASLICE_K8S_REAL_NODE_TOLERATIONS".into(),
            tolerations_json(),
        ),
        (
            "TERASLICE_K8S_CONTAINERD".into(),
            containerd_socket().display().to_string(),
        ),
    ]
}

/// `kubectl apply` of a namespace whose pods all go to the real node (through the
/// PodNodeSelector and PodTolerationRestriction admission plugins).
pub fn namespace_manifest(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  annotations:
    scheduler.alpha.kubernetes.io/node-selector: {selector}
    scheduler.alpha.kubernetes.io/defaultTolerations: '{tolerations}'
",
        selector = node_selector(),
        tolerations = tolerations_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_manifest_carries_both_annotations() {
        let m = namespace_manifest("x");
        assert!(m.contains("node-selector: teraslice-rs/node=kubelet\n"));
        let json = m
            .split("defaultTolerations: '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("tolerations annotation");
        let tolerations: serde_json::Value = serde_json::from_str(json).expect("json");
        assert_eq!(tolerations[0]["key"], LABEL_KEY);
        assert_eq!(tolerations[0]["effect"], "NoSchedule");
    }
}
