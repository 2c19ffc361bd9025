//! CoreDNS as a host process on NODE_IP:53 (its `kubernetes` plugin reading the API with its own
//! client certificate), reached by pods through the `kube-dns` Service (10.96.0.10), whose
//! EndpointSlice (no selector) points at NODE_IP. Nothing is forwarded: names outside
//! `cluster.local` are answered NXDOMAIN, no query leaves the machine.
use std::fs;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{tracked, Plane, CLUSTER_DOMAIN, DNS_SERVICE_IP, NODE_IP, NODE_RUN};
use crate::k8s::certs::{self, COREDNS_USER};
use crate::k8s::start::{kubectl_apply, wait_for};

/// The `kubernetes` Service's ClusterIP: what `kubernetes.default.svc.cluster.local` resolves to.
const KUBERNETES_SERVICE_IP: [u8; 4] = [10, 96, 0, 1];

fn manifest() -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {COREDNS_USER}
rules:
- apiGroups: [\"\"]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {COREDNS_USER}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {COREDNS_USER}}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {COREDNS_USER}}}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {{k8s-app: kube-dns, kubernetes.io/name: CoreDNS}}
spec:
  clusterIP: {DNS_SERVICE_IP}
  ports:
  - {{name: dns, port: 53, protocol: UDP, targetPort: 53}}
  - {{name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: teraslice-rs.xtask
addressType: IPv4
endpoints:
- addresses: [{NODE_IP}]
  conditions: {{ready: true}}
ports:
- {{name: dns, port: 53, protocol: UDP}}
- {{name: dns-tcp, port: 53, protocol: TCP}}
"
    )
}

/// CoreDNS' RBAC, the kube-dns Service and its EndpointSlice.
pub fn apply_objects(plane: &Plane) -> Result<()> {
    kubectl_apply(&plane.bins.kubectl, plane.admin_kubeconfig, &manifest())
        .context("creating the kube-dns Service")
}

/// The cluster's zones from the API; every other name is answered NXDOMAIN right here (what an
/// upstream resolver says of `kubernetes.default.` and the like), nothing is forwarded.
fn corefile(kubeconfig: &Path) -> String {
    format!(
        "{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {NODE_IP}
    errors
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        ttl 5
    }}
}}
.:53 {{
    bind {NODE_IP}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
",
        kubeconfig = kubeconfig.display()
    )
}

pub fn start(plane: &Plane) -> Result<()> {
    let run = Path::new(NODE_RUN);
    let kubeconfig = run.join("coredns.kubeconfig");
    certs::kubeconfig(
        &kubeconfig,
        plane.server,
        &plane.pki.ca_cert,
        &plane.pki.coredns,
        COREDNS_USER,
    )?;
    let corefile_path = run.join("Corefile");
    fs::write(&corefile_path, corefile(&kubeconfig)).context("writing the Corefile")?;
    tracked("coredns").spawn(
        &plane.bins.coredns,
        &["-conf".into(), corefile_path.display().to_string()],
    )?;
    Ok(())
}

/// Waits until `kubernetes.default.svc.cluster.local` resolves through the kube-dns ClusterIP
/// (so kube-proxy's rules and CoreDNS both work).
pub fn wait_ready() -> Result<()> {
    let name = format!("kubernetes.default.svc.{CLUSTER_DOMAIN}");
    let mut last = String::new();
    let result = wait_for(
        &tracked("coredns"),
        "CoreDNS through the kube-dns Service",
        Duration::from_secs(60),
        || match resolve_a(DNS_SERVICE_IP, &name) {
            Ok(addrs) if addrs.contains(&Ipv4Addr::from(KUBERNETES_SERVICE_IP)) => true,
            Ok(addrs) => {
                last = format!("{name} resolved to {addrs:?}");
                false
            }
            Err(err) => {
                last = format!("{err:#}");
                false
            }
        },
    );
    for name in ["kube-proxy", "kubelet"] {
        if tracked(name).live_pid().is_none() {
            bail!("{name} exited during start");
        }
    }
    result.with_context(|| format!("last answer: {last}"))
}

/// One A query over UDP; the addresses of the answer.
pub fn resolve_a(server: &str, name: &str) -> Result<Vec<Ipv4Addr>> {
    let socket = UdpSocket::bind("0.0.0.0:0").context("binding a UDP socket")?;
    socket.set_read_timeout(Some(Duration::from_secs(1)))?;
    let id: u16 = (std::process::id() & 0xffff) as u16;
    socket
        .send_to(&query(id, name), (server, 53))
        .with_context(|| format!("sending a DNS query to {server}"))?;
    let mut buf = [0u8; 1500];
    let n = socket
        .recv(&mut buf)
        .with_context(|| format!("no DNS answer from {server}"))?;
    parse_a(&buf[..n], id)
}

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend(id.to_be_bytes());
    q.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend(label.as_bytes());
    }
    q.extend([0, 0, 1, 0, 1]); // root; type A; class IN
    q
}

fn parse_a(msg: &[u8], id: u16) -> Result<Vec<Ipv4Addr>> {
    let word = |at: usize| -> Result<u16> {
        msg.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .context("short DNS answer")
    };
    if word(0)? != id {
        bail!("DNS answer for another query");
    }
    let rcode = word(2)? & 0xf;
    if rcode != 0 {
        bail!("DNS error code {rcode}");
    }
    let (questions, answers) = (word(4)?, word(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(msg, at)? + 4;
    }
    let mut addrs = Vec::new();
    for _ in 0..answers {
        at = skip_name(msg, at)?;
        let (kind, len) = (word(at)?, word(at + 8)? as usize);
        at += 10;
        let data = msg.get(at..at + len).context("short DNS record")?;
        if kind == 1 && len == 4 {
            addrs.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        at += len;
    }
    Ok(addrs)
}

/// The offset after a (possibly compressed) name.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize> {
    loop {
        let len = *msg.get(at).context("short DNS name")?;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xc0 == 0xc0 => return Ok(at + 2),
            l => at += 1 + l as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_answer_with_a_compressed_name() {
        let mut msg = query(7, "a.b");
        msg[2] = 0x81; // response
        msg[7] = 1; // one answer
        msg.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 96, 0, 1]);
        assert_eq!(
            parse_a(&msg, 7).expect("parse"),
            vec![Ipv4Addr::new(10, 96, 0, 1)]
        );
        assert!(parse_a(&msg, 8).is_err());
    }
}
