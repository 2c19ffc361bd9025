//! Host networking of the real node: the bridge, routes that keep every address of the cluster on
//! this machine, a FORWARD guard, the sysctls forwarding needs, and the CNI config (bridge +
//! host-local + loopback from Debian's containernetworking-plugins).
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::{BRIDGE, NODE_IP, NODE_RUN, POD_SUBNET};

/// The CNI network's name (also the folder of host-local's leases in /var/lib/cni/networks).
pub const NETWORK: &str = "teraslice-rs";
/// Our own iptables chain, jumped to from FORWARD: pods never reach anything off the machine.
pub const GUARD_CHAIN: &str = "TERASLICE-NODE-GUARD";
/// kwok's fake pod addresses: Services with kwok pods DNAT there; blackholed so nothing leaves.
pub const FAKE_POD_CIDR: &str = "10.244.0.0/16";
pub const SERVICE_CIDR: &str = "10.96.0.0/16";
/// Sysctls the node needs, with the value it sets; the old values are restored by `down`.
pub const SYSCTLS: [(&str, &str); 3] = [
    ("net/ipv4/ip_forward", "1"),
    // kube-proxy's NodePorts on 127.0.0.1.
    ("net/ipv4/conf/all/route_localnet", "1"),
    // Bridged pod-to-pod traffic through iptables (kube-proxy's DNAT on the same bridge).
    ("net/bridge/bridge-nf-call-iptables", "1"),
];

pub fn conf_dir() -> PathBuf {
    Path::new(NODE_RUN).join("cni")
}

pub fn saved_sysctls() -> PathBuf {
    Path::new(NODE_RUN).join("sysctls")
}

/// `ip`, `iptables`, ... with a readable error.
pub fn run(cmd: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .with_context(|| format!("running {cmd}"))?;
    if !out.status.success() {
        bail!(
            "{cmd} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub fn setup() -> Result<()> {
    set_sysctls()?;
    let gateway = format!("{NODE_IP}/{}", prefix_len(POD_SUBNET)?);
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run("ip", &["addr", "add", &gateway, "dev", BRIDGE])?;
    run("ip", &["link", "set", BRIDGE, "up"])?;
    // Host traffic to a ClusterIP is DNATed after this route picks the bridge; an address no
    // Service has stays on the bridge instead of following the default route off the machine.
    run(
        "ip",
        &["route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", NODE_IP],
    )?;
    run("ip", &["route", "add", "blackhole", FAKE_POD_CIDR])?;
    // Pods have no default route; this also drops anything forwarded off the bridge by mistake.
    run("iptables", &["-w", "-N", GUARD_CHAIN])?;
    run(
        "iptables",
        &[
            "-w",
            "-A",
            GUARD_CHAIN,
            "-i",
            BRIDGE,
            "!",
            "-o",
            BRIDGE,
            "-j",
            "DROP",
        ],
    )?;
    run("iptables", &["-w", "-I", "FORWARD", "1", "-j", GUARD_CHAIN])?;
    write_conf()
}

fn set_sysctls() -> Result<()> {
    let mut saved = String::new();
    for (key, value) in SYSCTLS {
        let path = Path::new("/proc/sys").join(key);
        let old = fs::read_to_string(&path)
            .with_context(|| format!("reading {} (br_netfilter missing?)", path.display()))?;
        saved.push_str(&format!("{key}={}\n", old.trim()));
        fs::write(&path, value).with_context(|| format!("setting {}", path.display()))?;
    }
    fs::write(saved_sysctls(), saved).context("saving the old sysctls")
}

/// Puts back the sysctls saved by `setup`.
pub fn restore_sysctls() {
    let Ok(saved) = fs::read_to_string(saved_sysctls()) else {
        return;
    };
    for line in saved.lines() {
        if let Some((key, value)) = line.split_once('=') {
            if SYSCTLS.iter().any(|(k, _)| *k == key) {
                let _ = fs::write(Path::new("/proc/sys").join(key), value);
            }
        }
    }
}

fn prefix_len(cidr: &str) -> Result<&str> {
    cidr.split_once('/')
        .map(|(_, len)| len)
        .with_context(|| format!("bad CIDR {cidr}"))
}

/// The pods' routes: their subnet on the bridge, Services through the gateway; nothing else.
fn conflist() -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": false,
                // A pod reaching itself through its Service.
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP}]],
                    "routes": [{"dst": SERVICE_CIDR, "gw": NODE_IP}],
                },
            },
            {"type": "loopback"},
        ],
    })
    .to_string()
}

fn write_conf() -> Result<()> {
    let dir = conf_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(dir.join(format!("10-{NETWORK}.conflist")), conflist())
        .context("writing the CNI config")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_get_no_default_route() {
        let conf: serde_json::Value = serde_json::from_str(&conflist()).expect("json");
        let routes = &conf["plugins"][0]["ipam"]["routes"];
        assert_eq!(routes.as_array().map(Vec::len), Some(1));
        assert_eq!(routes[0]["dst"], SERVICE_CIDR);
        assert_eq!(conf["plugins"][0]["ipMasq"], false);
    }
}
