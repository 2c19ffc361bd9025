//! Builds the control-plane binaries from their Go modules, once per version.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{
    k8s_root, COREDNS_VERSION, ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION, STAGING_VERSION,
};

/// Paths of the built binaries.
pub struct Binaries {
    pub apiserver: PathBuf,
    pub controller_manager: PathBuf,
    pub scheduler: PathBuf,
    pub kubectl: PathBuf,
    pub etcd: PathBuf,
    pub kwok: PathBuf,
    /// kwok's stage config (node and pod lifecycles).
    pub kwok_stages: PathBuf,
    /// The real node's programs (built only when the node is enabled).
    pub kubelet: PathBuf,
    pub kube_proxy: PathBuf,
    pub coredns: PathBuf,
    /// A static program that waits for SIGTERM: the pause image's only file.
    pub pause: PathBuf,
}

const K8S_CMDS: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
];
/// The real node's Kubernetes programs: same module, own folder and `.complete`, built after
/// `K8S_CMDS` (sharing their warm Go build cache).
const K8S_NODE_CMDS: [&str; 2] = ["kubelet", "kube-proxy"];
/// Bump when the pause program changes.
const PAUSE_REV: &str = "1";

/// Marks a finished build, so an interrupted one is redone.
const DONE: &str = ".complete";

fn bin_dir(component: &str, version: &str) -> PathBuf {
    k8s_root()
        .join("bin")
        .join(format!("{component}-{version}"))
}

fn build_dir(component: &str, version: &str) -> PathBuf {
    k8s_root()
        .join("build")
        .join(format!("{component}-{version}"))
}

pub fn binaries() -> Binaries {
    let k8s = bin_dir("kubernetes", KUBERNETES_VERSION);
    Binaries {
        apiserver: k8s.join("kube-apiserver"),
        controller_manager: k8s.join("kube-controller-manager"),
        scheduler: k8s.join("kube-scheduler"),
        kubectl: k8s.join("kubectl"),
        etcd: bin_dir("etcd", ETCD_VERSION).join("etcd"),
        kwok: bin_dir("kwok", KWOK_VERSION).join("kwok"),
        kwok_stages: kwok_stages(&bin_dir("kwok", KWOK_VERSION)),
        kubelet: bin_dir("kubernetes-node", KUBERNETES_VERSION).join("kubelet"),
        kube_proxy: bin_dir("kubernetes-node", KUBERNETES_VERSION).join("kube-proxy"),
        coredns: bin_dir("coredns", COREDNS_VERSION).join("coredns"),
        pause: bin_dir("pause", PAUSE_REV).join("pause"),
    }
}

/// Builds one module's binaries into `bin`, working (go.mod, log) in `work`.
type BuildFn = fn(&Path, &Path) -> Result<()>;

/// One cached build: `bin/<name>-<version>/` with its own `.complete`.
struct Job {
    name: &'static str,
    version: &'static str,
    build: BuildFn,
}

const fn job(name: &'static str, version: &'static str, build: BuildFn) -> Job {
    Job {
        name,
        version,
        build,
    }
}

/// Builds whatever is missing and returns the binaries. Chains run in parallel, the jobs of a
/// chain one after the other (the node's Kubernetes programs reuse the plane's Go build cache).
pub fn ensure_built(with_node: bool) -> Result<Binaries> {
    let mut chains: Vec<Vec<Job>> = vec![
        vec![job("kubernetes", KUBERNETES_VERSION, build_kubernetes)],
        vec![job("etcd", ETCD_VERSION, build_etcd)],
        vec![job("kwok", KWOK_VERSION, build_kwok)],
    ];
    if with_node {
        chains[0].push(job(
            "kubernetes-node",
            KUBERNETES_VERSION,
            build_kubernetes_node,
        ));
        chains.push(vec![job("coredns", COREDNS_VERSION, build_coredns)]);
        chains.push(vec![job("pause", PAUSE_REV, build_pause)]);
    }
    let todo: Vec<Vec<Job>> = chains
        .into_iter()
        .map(|chain| {
            chain
                .into_iter()
                .filter(|j| !bin_dir(j.name, j.version).join(DONE).exists())
                .collect::<Vec<_>>()
        })
        .filter(|chain| !chain.is_empty())
        .collect();
    if todo.iter().flatten().any(|j| j.name != "pause") {
        check_go()?;
    }
    let results: Vec<(String, Result<()>)> = thread::scope(|s| {
        let handles: Vec<_> = todo
            .iter()
            .map(|chain| s.spawn(move || chain.iter().map(run_job).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![("?".into(), Err(anyhow::anyhow!("build thread panicked")))]
                })
            })
            .collect()
    });
    let mut failed = Vec::new();
    for (name, result) in results {
        if let Err(err) = result {
            eprintln!("k8s: building {name} failed: {err:#}");
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        bail!(
            "building {} failed (see the messages above)",
            failed.join(", ")
        );
    }
    let bins = binaries();
    if !bins.kwok_stages.exists() {
        write_kwok_stages(&bins.kwok_stages, &build_dir("kwok", KWOK_VERSION))?;
    }
    Ok(bins)
}

fn run_job(job: &Job) -> (String, Result<()>) {
    let (name, version) = (job.name, job.version);
    let (bin, work) = (bin_dir(name, version), build_dir(name, version));
    let log = work.join("build.log");
    eprintln!("k8s: building {name} {version} (log: {})", log.display());
    let t = Instant::now();
    let result = fs::create_dir_all(&bin)
        .and_then(|_| fs::create_dir_all(&work))
        .context("creating build folders")
        .and_then(|_| (job.build)(&bin, &work))
        .and_then(|_| fs::write(bin.join(DONE), version).context("marking the build done"));
    if result.is_ok() {
        eprintln!("k8s: built {name} {version} in {:.0?}", t.elapsed());
    }
    (name.to_string(), result)
}

/// `$GO`, else `go` from PATH, else the usual install location (CI's PATH may lack it).
fn go_bin() -> PathBuf {
    if let Some(go) = std::env::var_os("GO") {
        return PathBuf::from(go);
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("go").is_file()));
    if on_path {
        PathBuf::from("go")
    } else {
        PathBuf::from("/usr/local/go/bin/go")
    }
}

pub(crate) fn check_go() -> Result<()> {
    let out = Command::new(go_bin()).arg("version").output().context(
        "running `go version`: the control plane is built from Go modules, install Go (>= 1.26)",
    )?;
    eprintln!("k8s: using {}", String::from_utf8_lossy(&out.stdout).trim());
    Ok(())
}

/// `go` with the settings every build here shares; output goes to `work/build.log`.
fn go(work: &Path, args: &[&str]) -> Result<()> {
    go_with(work, args, &[])
}

pub(crate) fn go_with(work: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let log_path = work.join("build.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let status = Command::new(go_bin())
        .args(args)
        .current_dir(work)
        // A module may ask for a newer Go than the machine's: let go fetch that toolchain.
        .env("GOTOOLCHAIN", "auto")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("running go {}", args.join(" ")))?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`go {}` failed ({status}) in {}:\n{}",
            args.join(" "),
            work.display(),
            tail.join("\n")
        );
    }
    Ok(())
}

fn go_output(work: &Path, args: &[&str]) -> Result<String> {
    go_output_with(work, args, &[])
}

fn go_output_with(work: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<String> {
    let out = Command::new(go_bin())
        .args(args)
        .current_dir(work)
        .env("GOTOOLCHAIN", "auto")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .envs(envs.iter().copied())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running go {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("`go {}` failed ({})", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// k8s.io/kubernetes replaces its staging repos with ./staging: a throwaway module pins each to its release.
fn build_kubernetes(bin: &Path, work: &Path) -> Result<()> {
    build_kubernetes_cmds(bin, work, &K8S_CMDS)
}

fn build_kubernetes_node(bin: &Path, work: &Path) -> Result<()> {
    build_kubernetes_cmds(bin, work, &K8S_NODE_CMDS)
}

fn build_kubernetes_cmds(bin: &Path, work: &Path, names: &[&str]) -> Result<()> {
    let module = format!("k8s.io/kubernetes@{KUBERNETES_VERSION}");
    fs::write(work.join("go.mod"), "module teraslice-rs/k8s-build\n").context("writing go.mod")?;
    let gomod_path = go_output(work, &["list", "-m", "-f", "{{.GoMod}}", &module])?;
    let upstream =
        fs::read_to_string(&gomod_path).with_context(|| format!("reading {gomod_path}"))?;
    fs::write(work.join("go.mod"), throwaway_gomod(&upstream)?).context("writing go.mod")?;
    let cmds: Vec<String> = names
        .iter()
        .map(|c| format!("k8s.io/kubernetes/cmd/{c}"))
        .collect();
    let mut get = vec!["get".to_string()];
    get.extend(cmds.iter().map(|c| format!("{c}@{KUBERNETES_VERSION}")));
    go(work, &get.iter().map(String::as_str).collect::<Vec<_>>())?;
    let (major, minor) = major_minor(KUBERNETES_VERSION)?;
    // Stamp the version the way the Kubernetes Makefile does, so components report v1.3x.y.
    let mut ldflags = String::from("-s -w");
    for pkg in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        ldflags.push_str(&format!(
            " -X {pkg}.gitVersion={KUBERNETES_VERSION} -X {pkg}.gitMajor={major} -X {pkg}.gitMinor={minor} -X {pkg}.gitTreeState=clean"
        ));
    }
    let out = format!("{}/", bin.display());
    let mut args = vec!["build", "-trimpath", "-ldflags", &ldflags, "-o", &out];
    args.extend(cmds.iter().map(String::as_str));
    go(work, &args)
}

/// The throwaway go.mod: same go directive, k8s.io/kubernetes required, each staging repo at its release.
fn throwaway_gomod(upstream: &str) -> Result<String> {
    let go_line = upstream
        .lines()
        .find(|l| l.starts_with("go "))
        .context("k8s.io/kubernetes go.mod has no go directive")?;
    let staging: Vec<&str> = upstream
        .lines()
        .filter_map(|l| {
            let (from, to) = l.trim().split_once("=>")?;
            to.trim().starts_with("./staging/").then(|| from.trim())
        })
        .collect();
    if staging.is_empty() {
        bail!("k8s.io/kubernetes go.mod has no ./staging replace directives");
    }
    let mut gomod = format!(
        "module teraslice-rs/k8s-build\n\n{go_line}\n\nrequire k8s.io/kubernetes {KUBERNETES_VERSION}\n\nreplace (\n"
    );
    for m in staging {
        gomod.push_str(&format!("\t{m} => {m} {STAGING_VERSION}\n"));
    }
    gomod.push_str(")\n");
    Ok(gomod)
}

fn major_minor(version: &str) -> Result<(String, String)> {
    let mut parts = version.trim_start_matches('v').split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => Ok((major.to_string(), minor.to_string())),
        _ => bail!("bad version {version}"),
    }
}

/// go.etcd.io/etcd/server/v3 replaces its sibling modules with ../: a throwaway module uses their releases.
fn build_etcd(bin: &Path, work: &Path) -> Result<()> {
    fs::write(
        work.join("go.mod"),
        format!("module teraslice-rs/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"),
    )
    .context("writing go.mod")?;
    go(
        work,
        &["get", &format!("go.etcd.io/etcd/server/v3@{ETCD_VERSION}")],
    )?;
    let out = bin.join("etcd").display().to_string();
    go(
        work,
        &[
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            &out,
            "go.etcd.io/etcd/server/v3",
        ],
    )
}

/// kwok has no replace directives, so `go install pkg@version` builds it as published.
fn build_kwok(bin: &Path, work: &Path) -> Result<()> {
    let gobin = bin.display().to_string();
    let pkg = format!("sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}");
    // `go install pkg@version` runs outside any module, where -mod=mod is not allowed.
    go_with(
        work,
        &["install", "-trimpath", "-ldflags", "-s -w", &pkg],
        &[("GOBIN", &gobin), ("GOFLAGS", "")],
    )
}

/// CoreDNS has no replace directives either; its default plugin set includes `kubernetes`.
fn build_coredns(bin: &Path, work: &Path) -> Result<()> {
    let gobin = bin.display().to_string();
    let pkg = format!("github.com/coredns/coredns@{COREDNS_VERSION}");
    go_with(
        work,
        &["install", "-trimpath", "-ldflags", "-s -w", &pkg],
        &[("GOBIN", &gobin), ("GOFLAGS", "")],
    )
}

/// The pause program: waits for SIGTERM/SIGINT, reaps children (20 lines of C, static).
const PAUSE_C: &str = r#"#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
  return 0;
}
"#;

fn build_pause(bin: &Path, work: &Path) -> Result<()> {
    let src = work.join("pause.c");
    fs::write(&src, PAUSE_C).context("writing pause.c")?;
    let out = Command::new("gcc")
        .args(["-static", "-Os", "-s", "-o"])
        .arg(bin.join("pause"))
        .arg(&src)
        .output()
        .context("running gcc (Debian packages gcc, libc6-dev)")?;
    if !out.status.success() {
        bail!(
            "gcc pause.c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// kwok's "fast" stages (what its docs call the default), as shipped in the module, except
/// `pod/fast/pod-complete.yaml`: it finishes every Job's pod at once, and Teraslice's execution
/// controller (a Job) must stay Running until it is stopped.
const KWOK_STAGES: [&str; 4] = [
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-delete.yaml",
];
/// Bump when KWOK_STAGES changes: names the stages file, so the next `up` writes and uses the new one.
pub const KWOK_STAGES_REV: &str = "2";

/// kwok v0.8 refuses to start without stages: copy them next to the binary as one config file.
fn write_kwok_stages(path: &Path, work: &Path) -> Result<()> {
    fs::create_dir_all(work).context("creating the kwok build folder")?;
    let module = format!("sigs.k8s.io/kwok@{KWOK_VERSION}");
    // Downloads the module if the cache lost it; prints its folder.
    let json = go_output_with(
        work,
        &["mod", "download", "-json", &module],
        &[("GOFLAGS", "")],
    )?;
    let module_dir = json
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"Dir\": \"")?.strip_suffix("\","))
        .with_context(|| format!("no Dir in `go mod download -json {module}`: {json}"))?;
    let dir = Path::new(module_dir).join("kustomize/stage");
    let mut config = String::new();
    for stage in KWOK_STAGES {
        let path = dir.join(stage);
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        config.push_str("---\n");
        config.push_str(&text);
        if !text.ends_with('\n') {
            config.push('\n');
        }
    }
    fs::write(path, config).context("writing the kwok stages")
}

pub fn kwok_stages(bin_dir: &Path) -> PathBuf {
    bin_dir.join(format!("stages-{KWOK_STAGES_REV}.yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throwaway_gomod_pins_staging_repos() {
        let upstream = "module k8s.io/kubernetes\n\ngo 1.26.0\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tgithub.com/x/y => github.com/x/y v1.0.0\n)\n";
        let gomod = throwaway_gomod(upstream).expect("gomod");
        assert!(gomod.contains("go 1.26.0\n"));
        assert!(gomod.contains(&format!("\tk8s.io/api => k8s.io/api {STAGING_VERSION}\n")));
        assert!(!gomod.contains("github.com/x/y"));
    }
}
