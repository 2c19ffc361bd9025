//! `cargo xtask bench`: builds the release binaries, starts OpenSearch (for the store figures) and
//! the Kubernetes control plane (for the backend figures), runs `teraslice-bench`, and writes
//! docs/benchmarks.md. Ratios, never timed assertions.
use std::process::Command;

use anyhow::{bail, Context};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Smaller workloads, for a quick look.
    #[arg(long)]
    quick: bool,
    /// Leave OpenSearch and the Kubernetes control plane running afterwards.
    #[arg(long)]
    keep: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let root = crate::paths::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "teraslice",
            "-p",
            "teraslice-bench",
        ])
        .status()
        .context("building the release binaries")?;
    if !built.success() {
        bail!("cargo build --release failed ({built})");
    }
    let opensearch = crate::opensearch::ensure_up()?.keep_running(args.keep);
    let k8s = crate::k8s::ensure_up()?.keep_running(args.keep);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let release = target.join("release");
    let mut bench = Command::new(release.join("teraslice-bench"));
    bench
        .current_dir(&root)
        .arg("--teraslice")
        .arg(release.join("teraslice"))
        .args(["--out", "docs/benchmarks.md"])
        .envs(opensearch.env())
        .envs(k8s.env());
    if args.quick {
        bench.arg("--quick");
    }
    let status = bench.status().context("running teraslice-bench")?;
    if !status.success() {
        bail!("teraslice-bench failed ({status})");
    }
    Ok(())
}
