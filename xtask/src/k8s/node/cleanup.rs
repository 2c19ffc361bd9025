//! `down` for the real node: everything it started or wrote, also after a killed run.
//!
//! Order: node processes (pid files), the pods' processes (found in the `kubepods` cgroups),
//! containerd's shims (by their `-address`), containerd; then mounts, links, iptables/ip6tables
//! chains, nftables tables, sysctls, folders and cgroups.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::cni::{self, FAKE_POD_CIDR, NETWORK};
use super::netfilter;
use super::{containerd, containerd_socket, tracked, BRIDGE, NODE_LIB, NODE_NAME, NODE_RUN};
use crate::k8s::process::alive;

/// Written by the kubelet and the CNI plugins outside our own folders.
const FOREIGN_DIRS: [&str; 3] = ["/var/lib/kubelet", "/var/log/pods", "/var/log/containers"];
/// Where mounts of ours can live.
const MOUNT_PREFIXES: [&str; 5] = [
    NODE_RUN,
    NODE_LIB,
    "/var/lib/kubelet",
    "/run/containerd",
    "/run/netns/cni-",
];

/// Removes the node: safe to run when nothing of it exists (it then does nothing visible).
pub fn down() -> Result<()> {
    let mut errors = Vec::new();
    let mut step = |what: &str, result: Result<()>| {
        if let Err(err) = result {
            errors.push(format!("{what}: {err:#}"));
        }
    };
    for name in ["coredns", "kube-proxy", "kubelet"] {
        step(name, tracked(name).stop(Duration::from_secs(10)));
    }
    step("pods' processes", kill_pod_processes());
    step("containerd shims", kill_shims());
    step(
        "containerd",
        tracked("containerd").stop(Duration::from_secs(10)),
    );
    step("mounts", unmount_all());
    step("network links", remove_links());
    for bin in ["iptables", "ip6tables"] {
        step(bin, netfilter::sweep_iptables(bin));
    }
    step("nftables", netfilter::sweep_nftables());
    cni::restore_sysctls();
    step("folders", remove_dirs());
    step("cgroups", remove_cgroups());
    if !errors.is_empty() {
        bail!("removing the real node: {}", errors.join("; "));
    }
    Ok(())
}

/// Deletes the Node object (best effort: the plane's etcd data goes with `down` anyway).
pub fn delete_node_object(kubectl: &Path, kubeconfig: &Path) {
    let _ = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "delete",
            "node",
            NODE_NAME,
            "--ignore-not-found",
            "--wait=false",
            "--request-timeout=5s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// (mount point, fs type) of every mount.
fn mounts() -> Vec<(String, String)> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            Some((unescape(fields.get(4)?), fields.get(sep + 1)?.to_string()))
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            match u8::from_str_radix(&code, 8) {
                Ok(b) => out.push(b as char),
                Err(_) => out.push_str(&code),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn cgroup_roots() -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .filter(|(_, kind)| kind == "cgroup" || kind == "cgroup2")
        .map(|(point, _)| PathBuf::from(point).join("kubepods"))
        .collect()
}

/// Every folder below `root` (itself included), deepest first.
fn dirs_deepest_first(root: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(entry.path());
                }
            }
            all.push(dir);
        }
    }
    all.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    all
}

/// Pids in the kubepods cgroups of every hierarchy.
fn pod_pids() -> Vec<u32> {
    let mut pids = Vec::new();
    for root in cgroup_roots() {
        for dir in dirs_deepest_first(&root) {
            let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids.retain(|&pid| pid != std::process::id());
    pids
}

fn kill_all(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
}

fn wait_gone(what: &str, mut find: impl FnMut() -> Vec<u32>) -> Result<()> {
    let t = Instant::now();
    loop {
        let pids = find();
        if pids.iter().all(|&p| !alive(p)) {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(10) {
            bail!("{what} still running: {pids:?}");
        }
        kill_all(&pids);
        sleep(Duration::from_millis(100));
    }
}

fn kill_pod_processes() -> Result<()> {
    wait_gone("pod processes", pod_pids)
}

fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Shims serving our containerd (`containerd-shim-runc-v2 ... -address <our socket>`).
fn shim_pids() -> Vec<u32> {
    let socket = containerd_socket().display().to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let args = cmdline(pid);
            args.first().is_some_and(|a| a.ends_with(containerd::SHIM))
                && args
                    .windows(2)
                    .any(|w| w[0] == "-address" && w[1] == socket)
        })
        .collect()
}

fn kill_shims() -> Result<()> {
    wait_gone("containerd shims", shim_pids)
}

fn ours(point: &str) -> bool {
    MOUNT_PREFIXES.iter().any(|p| {
        point.starts_with(p)
            && (p.ends_with('-') || point.len() == p.len() || point[p.len()..].starts_with('/'))
    })
}

fn unmount_all() -> Result<()> {
    for _ in 0..10 {
        let mut points: Vec<String> = mounts()
            .into_iter()
            .map(|(point, _)| point)
            .filter(|p| ours(p))
            .collect();
        if points.is_empty() {
            return Ok(());
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points.dedup();
        for point in points {
            let ok = Command::new("umount")
                .arg(&point)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount")
                    .args(["-l", &point])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
    let left: Vec<String> = mounts()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| ours(p))
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        bail!("still mounted: {left:?}")
    }
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn remove_links() -> Result<()> {
    // Veths normally go with their pods' network namespaces; any left over go now.
    for line in ip_output(&["-o", "link", "show", "master", BRIDGE]).lines() {
        if let Some(name) = line.split(": ").nth(1) {
            let name = name.split('@').next().unwrap_or(name);
            let _ = cni::run("ip", &["link", "del", name]);
        }
    }
    if !ip_output(&["-o", "link", "show", BRIDGE]).trim().is_empty() {
        cni::run("ip", &["link", "del", BRIDGE])?;
    }
    if ip_output(&["route", "show", FAKE_POD_CIDR]).contains("blackhole") {
        cni::run("ip", &["route", "del", "blackhole", FAKE_POD_CIDR])?;
    }
    Ok(())
}

fn remove_dir(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn remove_dirs() -> Result<()> {
    remove_dir(Path::new(NODE_LIB))?;
    for dir in FOREIGN_DIRS {
        remove_dir(Path::new(dir))?;
    }
    let cni_dir = Path::new("/var/lib/cni");
    remove_dir(&cni_dir.join("networks").join(NETWORK))?;
    if let Ok(entries) = fs::read_dir(cni_dir.join("results")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // containerd sets up pods' loopback as its own network "cni-loopback".
            if name.starts_with(&format!("{NETWORK}-")) || name.starts_with("cni-loopback-") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    // Empty folders the CNI plugins created go too (never anything that holds other files).
    for dir in ["networks", "results", ""] {
        let _ = fs::remove_dir(cni_dir.join(dir));
    }
    // Shim sockets live in /run/containerd/s whatever the state folder; it is ours unless
    // another containerd runs.
    if !other_containerd_running() {
        remove_dir(Path::new("/run/containerd"))?;
    }
    remove_dir(Path::new(NODE_RUN))
}

fn other_containerd_running() -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| {
            fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.to_string_lossy().starts_with(containerd::BIN))
                && alive(pid)
        })
}

fn remove_cgroups() -> Result<()> {
    let t = Instant::now();
    loop {
        let mut left = Vec::new();
        for root in cgroup_roots() {
            for dir in dirs_deepest_first(&root) {
                if fs::remove_dir(&dir).is_err() && dir.exists() {
                    left.push(dir);
                }
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(10) {
            bail!("cgroups left: {left:?}");
        }
        sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_prefixes_match_whole_components() {
        assert!(ours("/var/lib/kubelet"));
        assert!(ours("/var/lib/kubelet/pods/x/volumes"));
        assert!(!ours("/var/lib/kubelet-other"));
        assert!(ours("/run/netns/cni-1234"));
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }
}
