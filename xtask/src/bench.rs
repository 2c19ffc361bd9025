//! `cargo xtask bench`: builds the release binaries, starts OpenSearch (for the store figures), the
//! S3 server and the Kafka broker (for the asset figures) and the Kubernetes control plane (for the
//! backend figures), runs `teraslice-bench`, and writes
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
    /// Only these sections (dispatch, records, metrics, store, es_asset, s3, kafka, native, master,
    /// k8s, k8s_node, kafka_clients), printed instead of written to docs/benchmarks.md.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

pub fn run(mut args: BenchArgs) -> anyhow::Result<()> {
    let root = crate::paths::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if let Some(at) = args.only.iter().position(|o| o == KAFKA_CLIENTS) {
        args.only.remove(at);
        kafka_clients(&cargo, &root, args.keep, args.quick)?;
        if args.only.is_empty() {
            return Ok(());
        }
    }
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
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    // Started only for the sections that use them.
    let opensearch = if wanted("store") || wanted("es_asset") {
        Some(crate::opensearch::ensure_up()?.keep_running(args.keep))
    } else {
        None
    };
    let s3 = if wanted("s3") {
        Some(crate::s3::ensure_up()?.keep_running(args.keep))
    } else {
        None
    };
    let kafka = if wanted("kafka") {
        Some(crate::kafka::ensure_up()?.keep_running(args.keep))
    } else {
        None
    };
    let kafka_tools = if wanted("kafka") {
        crate::kafka::tools_env()?
    } else {
        Vec::new()
    };
    let k8s = if wanted("k8s") || wanted("k8s_node") {
        Some(crate::k8s::ensure_up()?.keep_running(args.keep))
    } else {
        None
    };
    // The real-node section runs the teraslice image of this tree (and OpenSearch's) in the node.
    let images = if wanted("k8s_node") {
        crate::image::cli::ensure_test_images()?
    } else {
        Vec::new()
    };
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
        .envs(opensearch.iter().flat_map(|o| o.env()))
        .envs(s3.iter().flat_map(|s| s.env()))
        .envs(kafka.iter().flat_map(|k| k.env()))
        .envs(kafka_tools)
        .envs(k8s.iter().flat_map(|k| k.env()))
        .envs(images);
    if args.quick {
        bench.arg("--quick");
    }
    if !args.only.is_empty() {
        bench.arg("--only").arg(args.only.join(","));
    }
    let status = bench.status().context("running teraslice-bench")?;
    if !status.success() {
        bail!("teraslice-bench failed ({status})");
    }
    Ok(())
}

/// The Kafka client comparison (rdkafka vs rskafka against the test broker), printed: it informs the
/// kafka asset's client choice (docs/testing.md) and is not part of the full report.
const KAFKA_CLIENTS: &str = "kafka_clients";

fn kafka_clients(
    cargo: &str,
    root: &std::path::Path,
    keep: bool,
    quick: bool,
) -> anyhow::Result<()> {
    let kafka = crate::kafka::ensure_up()?.keep_running(keep);
    let records = if quick { "50000" } else { "200000" };
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--release", "-q", "-p", "teraslice-services-smoke"])
        .args(["--bin", "kafka_clients_bench", "--", records])
        .envs(kafka.env())
        .status()
        .context("running kafka_clients_bench")?;
    if !status.success() {
        bail!("kafka_clients_bench failed ({status})");
    }
    Ok(())
}
