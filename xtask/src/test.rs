//! `cargo xtask test`: every test the repository has, with the services they need running.
use std::process::Command;

use anyhow::{bail, Context};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(trailing_var_arg = true)]
    cargo_args: Vec<String>,
    /// Leave the Kubernetes control plane, OpenSearch, Kafka and S3 running afterwards (also: TERASLICE_K8S_KEEP=1).
    #[arg(long)]
    keep: bool,
}

pub fn run(args: TestArgs) -> anyhow::Result<()> {
    let root = crate::paths::workspace_root();
    let k8s = crate::k8s::ensure_up()?.keep_running(args.keep);
    let opensearch = crate::opensearch::ensure_up()?.keep_running(args.keep);
    let kafka = crate::kafka::ensure_up()?.keep_running(args.keep);
    let s3 = crate::s3::ensure_up()?.keep_running(args.keep);
    let images = crate::image::cli::ensure_test_images()?;
    let helm = crate::helm::ensure_built()?;
    crate::browser::ensure()?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .args(&args.cargo_args)
        .envs(k8s.env())
        .envs(opensearch.env())
        .envs(kafka.env())
        .envs(s3.env())
        .envs(images)
        .env(crate::helm::HELM_ENV, &helm)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}
