//! `cargo xtask k8s up|down|env`: a real Kubernetes control plane on loopback for tests.
//!
//! etcd, kube-apiserver, kube-controller-manager and kube-scheduler are built from their Go modules
//! (cached by version under `~/.cache/teraslice-rs/k8s/bin`), kwok simulates nodes and pod lifecycles,
//! and one real node (`node/`: containerd, kubelet, kube-proxy, CoreDNS) runs pods for real.
//! Running state (certificates, kubeconfigs, pids, logs, etcd data) lives in `~/.cache/teraslice-rs/k8s/run`.
mod build;
pub(crate) use build::{check_go, go_with};
mod certs;
pub mod node;
mod nodes;
pub mod process;
mod start;
mod users;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

/// `cargo xtask k8s ...`
#[derive(clap::Subcommand)]
pub enum K8sAction {
    /// Build (once, cached) and start; reuses a running plane.
    Up,
    /// Stop what `up` started and remove its state (the real node's included).
    Down,
    /// Print the environment variables a shell needs to reach it.
    Env,
    /// Create (or annotate) a namespace whose pods all run on the real node.
    NodeNamespace {
        /// The namespace.
        name: String,
    },
    /// Import a docker-archive or OCI image tar into the real node's containerd.
    ImportImage {
        /// The image tar.
        tar: PathBuf,
    },
}

/// Pinned versions: Kubernetes minor = the newest one the `k8s-openapi` crate supports (feature `v1_37`).
pub const KUBERNETES_VERSION: &str = "v1.37.2";
/// The `k8s.io/<staging repo>` modules released together with `KUBERNETES_VERSION`.
pub const STAGING_VERSION: &str = "v0.37.2";
pub const ETCD_VERSION: &str = "v3.6.16";
pub const KWOK_VERSION: &str = "v0.8.0";
pub const COREDNS_VERSION: &str = "v1.15.0";

/// Set to 1 to leave the plane running after `cargo xtask test` (same as `--keep`).
pub const KEEP_ENV: &str = "TERASLICE_K8S_KEEP";

/// Where everything of the plane lives.
pub fn k8s_root() -> PathBuf {
    crate::paths::cache_root().join("k8s")
}

/// The running plane's state folder.
pub fn run_dir() -> PathBuf {
    k8s_root().join("run")
}

/// The admin kubeconfig (system:masters) that `env` exports as KUBECONFIG.
pub fn admin_kubeconfig() -> PathBuf {
    run_dir().join("admin.kubeconfig")
}

pub fn run(action: K8sAction) -> Result<()> {
    match action {
        K8sAction::Up => {
            let plane = ensure_up()?;
            // `up` on its own leaves the plane running for later commands.
            plane.detach();
            print_env();
            Ok(())
        }
        K8sAction::Down => {
            let _lock = users::lock()?;
            start::down()?;
            eprintln!("k8s: stopped and removed {}", run_dir().display());
            Ok(())
        }
        K8sAction::Env => {
            require_running()?;
            print_env();
            Ok(())
        }
        K8sAction::NodeNamespace { name } => {
            require_running()?;
            start::kubectl_apply(
                &build::binaries().kubectl,
                &admin_kubeconfig(),
                &node::namespace_manifest(&name),
            )?;
            eprintln!(
                "k8s: pods of namespace {name} run on the real node {}",
                node::NODE_NAME
            );
            Ok(())
        }
        K8sAction::ImportImage { tar } => crate::image::import_image(&tar),
    }
}

fn require_running() -> Result<()> {
    if !start::is_running() {
        anyhow::bail!("the Kubernetes control plane is not running: run `cargo xtask k8s up`");
    }
    Ok(())
}

fn print_env() {
    for (key, value) in env_vars() {
        println!("export {key}={}", shell_quote(&value));
    }
}

/// Single-quotes a value for a POSIX shell unless it is plainly safe (keeps the usual output unquoted).
fn shell_quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The variables tests read to reach the plane.
pub fn env_vars() -> Vec<(String, String)> {
    let mut vars = vec![
        (
            "KUBECONFIG".to_string(),
            admin_kubeconfig().display().to_string(),
        ),
        // The plane's own kubectl (the version of the plane), for tests and `make`.
        (
            "TERASLICE_KUBECTL".to_string(),
            build::binaries().kubectl.display().to_string(),
        ),
    ];
    if node::enabled() && node::is_running(&run_dir()) {
        vars.extend(node::env_vars());
    }
    vars
}

/// A use of the running plane. Dropping it stops the plane if it was started by a test run
/// (not by `up` or `--keep`) and no other process uses it any more.
pub struct Plane {
    keep: bool,
}

impl Plane {
    /// Environment for child processes (e.g. `cargo test`).
    pub fn env(&self) -> Vec<(String, String)> {
        env_vars()
    }

    /// Leave the plane running when this handle goes away.
    pub fn detach(self) {
        self.keep_running(true);
    }

    /// With `keep`, leave the plane running when this handle goes away.
    pub fn keep_running(mut self, keep: bool) -> Self {
        self.keep |= keep;
        self
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        let keep = self.keep || std::env::var(KEEP_ENV).is_ok_and(|v| v == "1" || v == "true");
        let result = users::lock().and_then(|_lock| {
            users::unregister();
            if keep {
                return users::set_auto_down(false);
            }
            if users::auto_down() && users::others() == 0 {
                start::down()?;
                eprintln!("k8s: stopped the control plane");
            }
            Ok(())
        });
        if let Err(err) = result {
            eprintln!("k8s: releasing the control plane failed: {err:#}");
        }
    }
}

/// Builds (once) and starts the plane, or reuses a running one.
pub fn ensure_up() -> Result<Plane> {
    let _lock = users::lock()?;
    if start::is_running() {
        eprintln!(
            "k8s: reusing the running control plane ({})",
            run_dir().display()
        );
    } else {
        let t = Instant::now();
        if node::enabled() {
            node::ensure_packages()?;
        }
        let bins = build::ensure_built(node::enabled())?;
        eprintln!("k8s: binaries ready in {:.0?}", t.elapsed());
        let t = Instant::now();
        start::up(&bins)?;
        eprintln!("k8s: control plane ready in {:.1?}", t.elapsed());
        users::set_auto_down(true)?;
    }
    users::register()?;
    Ok(Plane { keep: false })
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_a_shell_would_split() {
        assert_eq!(
            shell_quote("/root/.cache/x.kubeconfig"),
            "/root/.cache/x.kubeconfig"
        );
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
