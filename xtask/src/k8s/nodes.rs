//! Simulated nodes: Node objects kwok manages (heartbeats, pod lifecycles), two zones.
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// (zone, count): tests rely on at least two nodes in each of `zone=west` and `zone=east`.
pub const ZONES: [(&str, usize); 2] = [("west", 2), ("east", 2)];
/// Allocatable per node.
pub const NODE_CPU: &str = "8";
pub const NODE_MEMORY: &str = "32Gi";
pub const NODE_PODS: &str = "110";
/// Every simulated node carries this label (besides `zone`).
pub const NODE_LABEL: &str = "teraslice-rs/node=kwok";

fn manifest() -> String {
    let mut out = String::new();
    for (zone, n) in ZONES {
        for i in 0..n {
            let name = format!("kwok-{zone}-{i}");
            out.push_str(&format!(
                "---
apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations:
    node.alpha.kubernetes.io/ttl: \"0\"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: {name}
    teraslice-rs/node: kwok
    zone: {zone}
    topology.kubernetes.io/zone: {zone}
spec: {{}}
status:
  allocatable: {{cpu: \"{NODE_CPU}\", memory: {NODE_MEMORY}, pods: \"{NODE_PODS}\"}}
  capacity: {{cpu: \"{NODE_CPU}\", memory: {NODE_MEMORY}, pods: \"{NODE_PODS}\"}}
  nodeInfo: {{architecture: amd64, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake}}
  phase: Running
"
            ));
        }
    }
    out
}

/// Creates the nodes (idempotent) and waits until kwok reports them Ready.
pub fn create(kubectl: &Path, kubeconfig: &Path) -> Result<()> {
    super::start::kubectl_apply(kubectl, kubeconfig, &manifest())
        .context("creating the simulated nodes")?;
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "wait",
            "--for=condition=Ready",
            "node",
            "-l",
            NODE_LABEL,
            "--timeout=90s",
        ])
        .output()
        .context("running kubectl wait")?;
    if !out.status.success() {
        bail!(
            "the simulated nodes did not become Ready (is kwok running?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_has_two_kwok_nodes_per_zone() {
        let m = manifest();
        for zone in ["west", "east"] {
            assert_eq!(
                m.matches(&format!("\n    zone: {zone}\n")).count(),
                2,
                "{zone}"
            );
        }
        assert_eq!(m.matches("kwok.x-k8s.io/node: fake").count(), 4);
        assert!(!m.contains("taints"));
    }
}
