//! `cargo xtask fuzz` and `cargo xtask chaos`: the long versions of the tests that try to break
//! teraslice-rs (their short versions run with every `cargo test`). See docs/reliability.md.
use std::process::Command;

use anyhow::{bail, Context};

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Generated inputs per target (job, config, config-yaml, frame).
    #[arg(long, default_value_t = 1_000_000)]
    cases: u32,
    /// Seed of the generator; the same seed replays the same inputs.
    #[arg(long, default_value_t = 15)]
    seed: u64,
    /// Only these targets (repeatable).
    #[arg(long)]
    target: Vec<String>,
}

#[derive(clap::Args)]
pub struct ChaosArgs {
    /// How long faults are injected, e.g. `120s` or `120` (the jobs then get time to finish).
    #[arg(long, default_value = "120s")]
    duration: String,
    /// Seed of the fault choices; the default picks one (printed, to replay a run).
    #[arg(long)]
    seed: Option<u64>,
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(crate::paths::workspace_root());
    command
}

/// Runs the fuzz targets in a release build (a million cases per target take minutes there).
pub fn fuzz(args: FuzzArgs) -> anyhow::Result<()> {
    let mut command = cargo();
    command
        .args(["run", "--release", "-p", "teraslice-fuzz", "--"])
        .args([
            "--cases",
            &args.cases.to_string(),
            "--seed",
            &args.seed.to_string(),
        ]);
    for target in &args.target {
        command.args(["--target", target]);
    }
    let status = command.status().context("running the fuzz targets")?;
    if !status.success() {
        bail!("fuzzing found a broken property ({status}); the input is printed above");
    }
    Ok(())
}

/// Runs the chaos test (teraslice/tests/chaos.rs) for `--duration`.
pub fn chaos(args: ChaosArgs) -> anyhow::Result<()> {
    let secs: u64 = args
        .duration
        .trim_end_matches('s')
        .parse()
        .with_context(|| format!("--duration {}: seconds, like 120s", args.duration))?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(15, |d| d.as_secs())
    });
    let status = cargo()
        .args([
            "test",
            "-p",
            "teraslice",
            "--test",
            "chaos",
            "--",
            "--nocapture",
        ])
        .env("CHAOS_DURATION", secs.to_string())
        .env("CHAOS_SEED", seed.to_string())
        .status()
        .context("running the chaos test")?;
    if !status.success() {
        bail!("the chaos run failed ({status}); replay it with --seed {seed}");
    }
    Ok(())
}
