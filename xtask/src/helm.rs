//! `cargo xtask helm`: Helm built from its Go module (`helm.sh/helm/v4`), once per version,
//! cached under `~/.cache/teraslice-rs/helm/bin/helm-<version>/helm`; prints the binary's path.
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

/// Pinned Helm release: built against client-go v0.37.2, the plane's Kubernetes minor.
pub const HELM_VERSION: &str = "v4.3.2";
/// The variable `cargo xtask test` sets to the binary for the chart's tests.
pub const HELM_ENV: &str = "TERASLICE_HELM";

/// Marks a finished build, so an interrupted one is redone.
const DONE: &str = ".complete";

fn helm_root() -> PathBuf {
    crate::paths::cache_root().join("helm")
}

fn bin_dir() -> PathBuf {
    helm_root().join("bin").join(format!("helm-{HELM_VERSION}"))
}

/// Where the binary is (built or not).
pub fn helm_path() -> PathBuf {
    bin_dir().join("helm")
}

/// `cargo xtask helm`
pub fn run() -> Result<()> {
    let helm = ensure_built()?;
    println!("{}", helm.display());
    Ok(())
}

/// Builds Helm unless the cache has it; returns the binary's path.
pub fn ensure_built() -> Result<PathBuf> {
    let bin = bin_dir();
    if bin.join(DONE).exists() {
        return Ok(helm_path());
    }
    crate::k8s::check_go()?;
    let work = helm_root()
        .join("build")
        .join(format!("helm-{HELM_VERSION}"));
    fs::create_dir_all(&bin).context("creating the helm bin folder")?;
    fs::create_dir_all(&work).context("creating the helm build folder")?;
    eprintln!(
        "helm: building {HELM_VERSION} (log: {})",
        work.join("build.log").display()
    );
    let t = Instant::now();
    let gobin = bin.display().to_string();
    // Stamp the version the way Helm's Makefile does, so `helm version` reports the release.
    let ldflags = format!("-s -w -X helm.sh/helm/v4/internal/version.version={HELM_VERSION}");
    let pkg = format!("helm.sh/helm/v4/cmd/helm@{HELM_VERSION}");
    // Helm's go.mod has no replace directives: `go install pkg@version` builds it as published
    // (outside any module, where -mod=mod is not allowed).
    crate::k8s::go_with(
        &work,
        &["install", "-trimpath", "-ldflags", &ldflags, &pkg],
        &[("GOBIN", &gobin), ("GOFLAGS", "")],
    )?;
    fs::write(bin.join(DONE), HELM_VERSION).context("marking the helm build done")?;
    eprintln!("helm: built {HELM_VERSION} in {:.0?}", t.elapsed());
    Ok(helm_path())
}
