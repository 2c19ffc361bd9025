//! Certificates and kubeconfigs for the plane, made with the openssl CLI.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::node::{NODE_IP, NODE_NAME};

/// CoreDNS' user name (its ClusterRoleBinding's subject).
pub const COREDNS_USER: &str = "teraslice-rs:coredns";

/// A client identity: certificate and key files.
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything the components need for TLS, client auth and service-account tokens.
pub struct Pki {
    pub ca_cert: PathBuf,
    pub apiserver: Identity,
    pub admin: Identity,
    pub controller_manager: Identity,
    pub scheduler: Identity,
    pub kwok: Identity,
    /// The real node: the kubelet's client and serving certificates, kube-proxy, CoreDNS, and the
    /// apiserver's client certificate for the kubelet (logs, exec, port-forward).
    pub kubelet: Identity,
    pub kubelet_serving: Identity,
    pub kube_proxy: Identity,
    pub coredns: Identity,
    pub apiserver_kubelet_client: Identity,
    /// Signs and verifies service-account tokens (apiserver and controller-manager).
    pub service_account_key: PathBuf,
    /// Its public half, for verifying tokens.
    pub service_account_pub: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running openssl (install the openssl package)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A new P-256 key in PKCS#8 PEM.
fn key(dir: &Path, name: &str) -> Result<()> {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            name,
        ],
    )
}

/// A certificate for `name` signed by the CA, with the given subject and extensions.
fn signed(dir: &Path, name: &str, subject: &str, exts: &[&str]) -> Result<Identity> {
    let (key_file, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    key(dir, &key_file)?;
    let mut req = vec![
        "req", "-new", "-key", &key_file, "-subj", subject, "-out", &csr,
    ];
    for ext in exts {
        req.extend(["-addext", ext]);
    }
    openssl(dir, &req)?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-copy_extensions",
            "copy",
            "-out",
            &cert,
        ],
    )?;
    Ok(Identity {
        cert: dir.join(cert),
        key: dir.join(key_file),
    })
}

fn client(dir: &Path, name: &str, subject: &str) -> Result<Identity> {
    signed(
        dir,
        name,
        subject,
        &[
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=clientAuth",
            "basicConstraints=critical,CA:FALSE",
        ],
    )
}

/// Creates a fresh CA and every certificate in `dir`.
pub fn generate(dir: &Path) -> Result<Pki> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    key(dir, "ca.key")?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=teraslice-rs-test-ca",
            "-days",
            "365",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            "-out",
            "ca.crt",
        ],
    )?;
    let apiserver = signed(
        dir,
        "apiserver",
        "/CN=kube-apiserver",
        &[
            format!("subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:{NODE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local").as_str(),
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth",
            "basicConstraints=critical,CA:FALSE",
        ],
    )?;
    let admin = client(dir, "admin", "/O=system:masters/CN=teraslice-admin")?;
    // The default RBAC bindings grant these users exactly what their component needs.
    let controller_manager = client(
        dir,
        "controller-manager",
        "/CN=system:kube-controller-manager",
    )?;
    let scheduler = client(dir, "scheduler", "/CN=system:kube-scheduler")?;
    let kwok = client(dir, "kwok", "/O=system:masters/CN=kwok")?;
    let kubelet = client(
        dir,
        "kubelet",
        &format!("/O=system:nodes/CN=system:node:{NODE_NAME}"),
    )?;
    let kubelet_serving = signed(
        dir,
        "kubelet-serving",
        &format!("/CN={NODE_NAME}"),
        &[
            format!("subjectAltName=IP:{NODE_IP},DNS:{NODE_NAME}").as_str(),
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth",
            "basicConstraints=critical,CA:FALSE",
        ],
    )?;
    // Bound to the default ClusterRole system:node-proxier.
    let kube_proxy = client(dir, "kube-proxy", "/CN=system:kube-proxy")?;
    // Bound by `cargo xtask k8s up` to a ClusterRole that reads Services, EndpointSlices, ...
    let coredns = client(dir, "coredns", &format!("/CN={COREDNS_USER}"))?;
    let apiserver_kubelet_client = client(
        dir,
        "apiserver-kubelet-client",
        "/O=system:masters/CN=kube-apiserver-kubelet-client",
    )?;
    key(dir, "service-account.key")?;
    // The apiserver reads verification keys only as public keys or SEC1/PKCS#1, not PKCS#8.
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "service-account.key",
            "-pubout",
            "-out",
            "service-account.pub",
        ],
    )?;
    Ok(Pki {
        ca_cert: dir.join("ca.crt"),
        apiserver,
        admin,
        controller_manager,
        scheduler,
        kwok,
        kubelet,
        kubelet_serving,
        kube_proxy,
        coredns,
        apiserver_kubelet_client,
        service_account_key: dir.join("service-account.key"),
        service_account_pub: dir.join("service-account.pub"),
    })
}

/// Writes a kubeconfig for `identity` talking to `server`.
pub fn kubeconfig(
    path: &Path,
    server: &str,
    ca: &Path,
    identity: &Identity,
    user: &str,
) -> Result<()> {
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: teraslice-rs
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: {user}@teraslice-rs
  context:
    cluster: teraslice-rs
    user: {user}
    namespace: default
current-context: {user}@teraslice-rs
",
        ca = ca.display(),
        cert = identity.cert.display(),
        key = identity.key.display(),
    );
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
