//! `teraslice-bench` (run by `cargo xtask bench`): measures the runtime, the stores and the master
//! side by side with a baseline in the same run, and writes the ratios to docs/benchmarks.md.
//! Absolute numbers depend on the machine; the ratios are what to compare between runs.
mod dispatch;
mod es_asset;
mod k8s;
mod master;
mod native;
mod report;
mod store;

use std::path::PathBuf;

use clap::Parser;

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
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scale = if args.quick { 1 } else { 4 };
    let mut report = report::Report::new();
    eprintln!("bench: slice dispatch");
    dispatch::run(&mut report, scale).await?;
    eprintln!("bench: state stores");
    store::run(&mut report, scale).await?;
    eprintln!("bench: elasticsearch asset");
    es_asset::run(&mut report, scale).await?;
    eprintln!("bench: native backend");
    native::run(&mut report, &args.teraslice).await?;
    eprintln!("bench: master");
    master::run(&mut report, &args.teraslice, scale).await?;
    eprintln!("bench: kubernetes backend");
    k8s::run(&mut report, scale).await?;
    std::fs::write(&args.out, report.markdown())?;
    eprintln!("bench: wrote {}", args.out.display());
    Ok(())
}
