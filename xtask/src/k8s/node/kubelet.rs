//! The kubelet: registers `kubelet-0` (labelled and tainted), runs pods through containerd.
//!
//! Serving: TLS on NODE_IP:10250 with a certificate from the plane's CA (the apiserver verifies
//! it, `--kubelet-certificate-authority`); clients authenticate with certificates of that CA
//! (the apiserver's `--kubelet-client-certificate` is in system:masters) or tokens, and are
//! authorized by the apiserver (Webhook); no anonymous access, no read-only port.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::{
    containerd_socket, tracked, Plane, CLUSTER_DOMAIN, DNS_SERVICE_IP, KUBELET_PORT, LABEL_KEY,
    LABEL_VALUE, NODE_IP, NODE_LIB, NODE_NAME, NODE_RUN,
};
use crate::k8s::certs;
use crate::k8s::start::{free_port, kubectl_ok_with, wait_for};

/// The kubelet's root dir (pods' volumes, plugins, its own state).
pub fn root_dir() -> PathBuf {
    Path::new(NODE_LIB).join("kubelet")
}

/// Where container logs go (the kubelet still links them from /var/log/containers).
pub fn pod_logs_dir() -> PathBuf {
    Path::new(NODE_LIB).join("pod-logs")
}

fn config(plane: &Plane, healthz_port: u16) -> String {
    let pki = plane.pki;
    format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_IP}
port: {KUBELET_PORT}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz_port}
tlsCertFile: {serving_cert}
tlsPrivateKeyFile: {serving_key}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {ca}}}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://{socket}
imageServiceEndpoint: unix://{socket}
cgroupDriver: cgroupfs
# The machine has cgroup v1 hierarchies only.
failCgroupV1: false
failSwapOn: false
clusterDNS: [{DNS_SERVICE_IP}]
clusterDomain: {CLUSTER_DOMAIN}
# Pods get the cluster DNS only: the host's resolver and search domains stay out.
resolvConf: \"\"
registerWithTaints:
- {{key: {LABEL_KEY}, value: {LABEL_VALUE}, effect: NoSchedule}}
# No eviction or image garbage collection on a shared test machine.
evictionHard: {{}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: {pod_logs}
volumePluginDir: {plugins}
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 110
",
        serving_cert = pki.kubelet_serving.cert.display(),
        serving_key = pki.kubelet_serving.key.display(),
        ca = pki.ca_cert.display(),
        socket = containerd_socket().display(),
        pod_logs = pod_logs_dir().display(),
        plugins = Path::new(NODE_LIB).join("volume-plugins").display(),
    )
}

pub fn start(plane: &Plane) -> Result<()> {
    let run = Path::new(NODE_RUN);
    let config_path = run.join("kubelet.yaml");
    fs::write(&config_path, config(plane, free_port()?)).context("writing kubelet.yaml")?;
    let kubeconfig = run.join("kubelet.kubeconfig");
    certs::kubeconfig(
        &kubeconfig,
        plane.server,
        &plane.pki.ca_cert,
        &plane.pki.kubelet,
        &format!("system:node:{NODE_NAME}"),
    )?;
    let root = root_dir();
    let p = |path: &Path| path.display().to_string();
    tracked("kubelet").spawn(
        &plane.bins.kubelet,
        &[
            format!("--config={}", p(&config_path)),
            format!("--kubeconfig={}", p(&kubeconfig)),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            format!("--node-labels={LABEL_KEY}={LABEL_VALUE}"),
            format!("--root-dir={}", p(&root)),
            format!("--cert-dir={}", p(&root.join("pki"))),
        ],
    )?;
    Ok(())
}

/// Waits for the Node object to report Ready.
pub fn wait_ready(plane: &Plane) -> Result<()> {
    let kubectl = &plane.bins.kubectl;
    let admin = plane.admin_kubeconfig;
    let node = format!("node/{NODE_NAME}");
    wait_for(
        &tracked("kubelet"),
        "the real node to be Ready",
        Duration::from_secs(120),
        || {
            kubectl_ok_with(
                kubectl,
                admin,
                &["wait", "--for=condition=Ready", &node, "--timeout=2s"],
            )
        },
    )
}
