//! kube-proxy in iptables mode: ClusterIPs and NodePorts (on NODE_IP and 127.0.0.1) of every
//! Service, for the host and the real node's pods.
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::{tracked, Plane, NODE_IP, NODE_NAME, NODE_RUN, POD_SUBNET};
use crate::k8s::certs;
use crate::k8s::start::free_port;

fn config(kubeconfig: &Path, healthz_port: u16, metrics_port: u16) -> String {
    format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: {kubeconfig}
mode: iptables
hostnameOverride: {NODE_NAME}
clusterCIDR: {POD_SUBNET}
detectLocalMode: ClusterCIDR
healthzBindAddress: 127.0.0.1:{healthz_port}
metricsBindAddress: 127.0.0.1:{metrics_port}
nodePortAddresses: [{NODE_IP}/32, 127.0.0.0/8]
# Leave the conntrack sysctls as they are; no CAP_SYS_RESOURCE for a negative oom_score_adj.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
oomScoreAdj: 0
iptables:
  minSyncPeriod: 0s
  syncPeriod: 30s
",
        kubeconfig = kubeconfig.display(),
    )
}

pub fn start(plane: &Plane) -> Result<()> {
    let run = Path::new(NODE_RUN);
    let kubeconfig = run.join("kube-proxy.kubeconfig");
    certs::kubeconfig(
        &kubeconfig,
        plane.server,
        &plane.pki.ca_cert,
        &plane.pki.kube_proxy,
        "system:kube-proxy",
    )?;
    let config_path = run.join("kube-proxy.yaml");
    fs::write(
        &config_path,
        config(&kubeconfig, free_port()?, free_port()?),
    )
    .context("writing kube-proxy.yaml")?;
    tracked("kube-proxy").spawn(
        &plane.bins.kube_proxy,
        &[format!("--config={}", config_path.display())],
    )?;
    Ok(())
}
