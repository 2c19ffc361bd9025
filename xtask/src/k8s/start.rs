//! Starting and stopping the plane's processes on loopback.
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::build::{binaries, Binaries};
use super::process::Tracked;
use super::{
    admin_kubeconfig, certs, node, nodes, run_dir, COREDNS_VERSION, ETCD_VERSION,
    KUBERNETES_VERSION, KWOK_VERSION,
};

/// What a running plane was started with; another value makes `up` restart it.
fn versions() -> String {
    let node = if node::enabled() {
        format!("node={} coredns={COREDNS_VERSION}", node::NODE_REV)
    } else {
        "node=off".into()
    };
    format!(
        "kubernetes={KUBERNETES_VERSION} etcd={ETCD_VERSION} kwok={KWOK_VERSION} kwok-stages={} {node}\n",
        super::build::KWOK_STAGES_REV
    )
}

/// Components in start order; `down` stops them in reverse.
const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];
/// Written last by `up`: a run folder without it is a failed or interrupted start.
const READY: &str = "ready";
/// Pods get fake IPs from here; no traffic ever goes to them.
const POD_CIDR: &str = "10.244.0.0/16";
const SERVICE_CIDR: &str = "10.96.0.0/16";

fn tracked(run: &Path) -> Vec<Tracked> {
    COMPONENTS
        .iter()
        .map(|name| Tracked::new(run, name))
        .collect()
}

/// True when every component runs and the API answers /readyz.
pub fn is_running() -> bool {
    let run = run_dir();
    // A plane started by another version of this code is restarted, not reused.
    fs::read_to_string(run.join(READY)).is_ok_and(|v| v == versions())
        && tracked(&run).iter().all(|t| t.live_pid().is_some())
        && (!node::enabled() || node::is_running(&run))
        && kubectl_ok(
            &binaries().kubectl,
            &["get", "--raw=/readyz", "--request-timeout=5s"],
        )
}

fn kubectl_ok(kubectl: &Path, args: &[&str]) -> bool {
    kubectl_ok_with(kubectl, &admin_kubeconfig(), args)
}

pub fn kubectl_ok_with(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> bool {
    Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `kubectl apply -f -` of `manifest`.
pub fn kubectl_apply(kubectl: &Path, kubeconfig: &Path, manifest: &str) -> Result<()> {
    let mut child = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kubectl apply")?;
    child
        .stdin
        .take()
        .context("kubectl stdin")?
        .write_all(manifest.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Stops whatever a previous `up` started and removes its state, the real node's included
/// (whose leftovers are looked for even without a run folder).
pub fn down() -> Result<()> {
    let run = run_dir();
    let _ = fs::remove_file(run.join(READY));
    if let Some(owner) = node::foreign_owner(&run) {
        eprintln!("k8s: leaving the real node alone: it serves the plane in {owner}");
    } else {
        if node::tracked("kubelet").live_pid().is_some() && tracked(&run)[1].live_pid().is_some() {
            node::delete_node_object(&binaries().kubectl, &admin_kubeconfig());
        }
        node::down()?;
    }
    if !run.exists() {
        return Ok(());
    }
    for t in tracked(&run).iter().rev() {
        t.stop(Duration::from_secs(10))
            .with_context(|| format!("stopping {}", t.name))?;
    }
    fs::remove_dir_all(&run).with_context(|| format!("removing {}", run.display()))
}

/// A free loopback port (the OS picks it; we release it right away for the component to bind).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("finding a free port")?
        .local_addr()?
        .port())
}

pub fn up(bins: &Binaries) -> Result<()> {
    if node::enabled() {
        if let Some(owner) = node::foreign_owner(&run_dir()) {
            bail!(
                "the real node (one per machine) serves the running plane in {owner}: stop that \
                 plane (`TERASLICE_RS_CACHE=<its cache root> cargo xtask k8s down`) or start this \
                 one without the node (TERASLICE_K8S_NODE=0)"
            );
        }
    }
    down().context("cleaning up a previous, broken start")?;
    let result = if node::enabled() {
        node::prepare(&run_dir()).and_then(|_| start_all(bins))
    } else {
        start_all(bins)
    };
    if result.is_err() {
        node::report_dead();
        // Leave nothing half-started behind; the logs go with the folder, so show them first.
        for t in tracked(&run_dir()) {
            if t.log_file.exists() && t.live_pid().is_none() {
                eprintln!(
                    "k8s: {} is not running; last log lines:\n{}",
                    t.name,
                    t.log_tail(20)
                );
            }
        }
        if std::env::var_os("TERASLICE_K8S_KEEP_FAILED").is_none() {
            let _ = down();
        }
    }
    result
}

fn start_all(bins: &Binaries) -> Result<()> {
    let run = run_dir();
    fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
    let mut ports = BTreeMap::new();
    for name in ["etcd-client", "etcd-peer", "apiserver", "kwok"] {
        ports.insert(name, free_port()?);
    }
    let ports_text: String = ports.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    fs::write(run.join("ports"), ports_text)?;
    let pki = certs::generate(&run.join("pki"))?;
    let server = format!("https://127.0.0.1:{}", ports["apiserver"]);
    let kubeconfig = |name: &str, id: &certs::Identity, user: &str| -> Result<std::path::PathBuf> {
        let path = run.join(format!("{name}.kubeconfig"));
        certs::kubeconfig(&path, &server, &pki.ca_cert, id, user)?;
        Ok(path)
    };
    let admin = kubeconfig("admin", &pki.admin, "teraslice-admin")?;
    let cm = kubeconfig(
        "controller-manager",
        &pki.controller_manager,
        "system:kube-controller-manager",
    )?;
    let sched = kubeconfig("scheduler", &pki.scheduler, "system:kube-scheduler")?;
    let kwok = kubeconfig("kwok", &pki.kwok, "kwok")?;
    let [etcd_t, api_t, cm_t, sched_t, kwok_t]: [Tracked; 5] = tracked(&run)
        .try_into()
        .map_err(|_| anyhow::anyhow!("component list"))?;
    let p = |path: &Path| path.display().to_string();

    let etcd_url = format!("http://127.0.0.1:{}", ports["etcd-client"]);
    let peer_url = format!("http://127.0.0.1:{}", ports["etcd-peer"]);
    etcd_t.spawn(
        &bins.etcd,
        &[
            "--name=teraslice-rs".into(),
            format!("--data-dir={}", p(&run.join("etcd-data"))),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=teraslice-rs={peer_url}"),
            // Test data: durability across power loss does not matter, speed does.
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ],
    )?;
    wait_for(&etcd_t, "etcd to listen", Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", ports["etcd-client"])).is_ok()
    })?;

    let mut api_args = vec![
        format!("--etcd-servers={etcd_url}"),
        format!("--secure-port={}", ports["apiserver"]),
        format!("--tls-cert-file={}", p(&pki.apiserver.cert)),
        format!("--tls-private-key-file={}", p(&pki.apiserver.key)),
        format!("--client-ca-file={}", p(&pki.ca_cert)),
        "--authorization-mode=Node,RBAC".into(),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={}", p(&pki.service_account_pub)),
        format!(
            "--service-account-signing-key-file={}",
            p(&pki.service_account_key)
        ),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        format!("--cert-dir={}", p(&run.join("pki"))),
        "--profiling=false".into(),
        // A namespace's annotations can send all its pods to the real node.
        "--enable-admission-plugins=PodNodeSelector,PodTolerationRestriction".into(),
    ];
    if node::enabled() {
        api_args.extend([
            // Loopback for kubeconfigs, the bridge address for pods (the `kubernetes` Service).
            "--bind-address=0.0.0.0".into(),
            format!("--advertise-address={}", node::NODE_IP),
            // logs, exec, port-forward: the kubelet on its InternalIP, both sides verified.
            format!(
                "--kubelet-client-certificate={}",
                p(&pki.apiserver_kubelet_client.cert)
            ),
            format!(
                "--kubelet-client-key={}",
                p(&pki.apiserver_kubelet_client.key)
            ),
            format!("--kubelet-certificate-authority={}", p(&pki.ca_cert)),
            "--kubelet-preferred-address-types=InternalIP".into(),
        ]);
    } else {
        api_args.extend([
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            // The default endpoint reconciler rejects a loopback address for the `kubernetes` Service.
            "--endpoint-reconciler-type=none".into(),
        ]);
    }
    api_t.spawn(&bins.apiserver, &api_args)?;
    let kubectl = &bins.kubectl;
    wait_for(
        &api_t,
        "kube-apiserver /readyz",
        Duration::from_secs(120),
        || kubectl_ok(kubectl, &["get", "--raw=/readyz", "--request-timeout=5s"]),
    )?;

    cm_t.spawn(
        &bins.controller_manager,
        &[
            format!("--kubeconfig={}", p(&cm)),
            // Each controller authenticates with its own service account, as in a real cluster.
            "--use-service-account-credentials=true".into(),
            format!(
                "--service-account-private-key-file={}",
                p(&pki.service_account_key)
            ),
            format!("--root-ca-file={}", p(&pki.ca_cert)),
            "--cluster-name=teraslice-rs".into(),
            "--controllers=*".into(),
            "--leader-elect=false".into(),
            // No health endpoint needed: readiness is checked through the objects it creates.
            "--secure-port=0".into(),
        ],
    )?;
    sched_t.spawn(
        &bins.scheduler,
        &[
            format!("--kubeconfig={}", p(&sched)),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
        ],
    )?;
    kwok_t.spawn(
        &bins.kwok,
        &[
            format!("--kubeconfig={}", p(&kwok)),
            format!("--config={}", p(&bins.kwok_stages)),
            "--manage-all-nodes=false".into(),
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
            "--manage-nodes-with-label-selector=".into(),
            "--manage-single-node=".into(),
            format!("--cidr={POD_CIDR}"),
            "--node-ip=10.244.0.1".into(),
            "--node-lease-duration-seconds=40".into(),
            format!("--server-address=127.0.0.1:{}", ports["kwok"]),
        ],
    )?;

    nodes::create(kubectl, &admin)?;
    // The service-account controller creating `default` proves the controller-manager works.
    wait_for(
        &cm_t,
        "the default ServiceAccount",
        Duration::from_secs(60),
        || {
            kubectl_ok(
                kubectl,
                &["get", "serviceaccount", "default", "-n", "default"],
            )
        },
    )?;
    if node::enabled() {
        node::start(&node::Plane {
            bins,
            pki: &pki,
            server: &server,
            admin_kubeconfig: &admin,
        })?;
    }
    for t in [&api_t, &cm_t, &sched_t, &kwok_t] {
        if t.live_pid().is_none() {
            bail!("{} exited during start", t.name);
        }
    }
    fs::write(run.join(READY), versions())?;
    Ok(())
}

/// Polls `check` until it holds, failing early if the component died.
pub fn wait_for(
    t: &Tracked,
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if check() {
            return Ok(());
        }
        if t.live_pid().is_none() {
            bail!("{} exited while waiting for {what}", t.name);
        }
        if start.elapsed() > timeout {
            bail!(
                "timed out after {timeout:?} waiting for {what} (log: {})",
                t.log_file.display()
            );
        }
        sleep(Duration::from_millis(250));
    }
}
