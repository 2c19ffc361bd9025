//! `teraslice-bench` (run by `cargo xtask bench`): measures the runtime, the stores and the master
//! side by side with a baseline in the same run, and writes the ratios to docs/benchmarks.md.
//! Absolute numbers depend on the machine; the ratios are what to compare between runs.
mod dispatch;
mod dispatch_native;
mod es_asset;
mod k8s;
mod k8s_node;
mod kafka;
mod master;
mod metrics_cost;
mod native;
mod raw_websocket;
mod report;
mod s3;
mod store;
mod threads;

use std::path::PathBuf;

use clap::Parser;

/// The same allocator as the `teraslice` binary, so in-process figures match its processes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Where to write the markdown report.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// The release `teraslice` binary (for the master and native benchmarks).
    #[arg(long)]
    teraslice: PathBuf,
    /// Smaller workloads, for a quick look.
    #[arg(long)]
    quick: bool,
    /// Run only these sections (dispatch, records, metrics, store, es_asset, s3, kafka, native,
    /// master, k8s, k8s_node) and print the report instead of writing it.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scale = if args.quick { 1 } else { 4 };
    let mut report = report::Report::new();
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    if wanted("dispatch") {
        eprintln!("bench: slice dispatch");
        dispatch::run(&mut report, &args.teraslice, scale).await?;
    }
    if wanted("records") {
        eprintln!("bench: records per second");
        dispatch::run_records(&mut report, scale).await?;
    }
    if wanted("metrics") {
        eprintln!("bench: prometheus metrics on/off");
        metrics_cost::run(&mut report, &args.teraslice, scale).await?;
    }
    if wanted("store") {
        eprintln!("bench: state stores");
        store::run(&mut report, scale).await?;
    }
    if wanted("es_asset") {
        eprintln!("bench: elasticsearch asset");
        es_asset::run(&mut report, scale).await?;
    }
    if wanted("s3") {
        eprintln!("bench: s3 (file asset)");
        s3::run(&mut report, scale).await?;
    }
    if wanted("kafka") {
        eprintln!("bench: kafka asset");
        kafka::run(&mut report, scale).await?;
    }
    if wanted("native") {
        eprintln!("bench: native backend");
        native::run(&mut report, &args.teraslice).await?;
    }
    if wanted("master") {
        eprintln!("bench: master");
        master::run(&mut report, &args.teraslice, scale).await?;
    }
    if wanted("k8s") {
        eprintln!("bench: kubernetes backend");
        k8s::run(&mut report, scale).await?;
    }
    if wanted("k8s_node") {
        eprintln!("bench: kubernetes backend on the real node");
        k8s_node::run(&mut report, &args.teraslice, scale).await?;
    }
    if args.only.is_empty() {
        std::fs::write(&args.out, report.markdown())?;
        eprintln!("bench: wrote {}", args.out.display());
    } else {
        // A partial run would overwrite the full report with a few sections.
        println!("{}", report.markdown());
    }
    Ok(())
}
