//! `teraslice-fuzz [--cases N] [--seed S] [--target NAME]…`: the long fuzz run behind
//! `cargo xtask fuzz`. Prints one line per target; exits non-zero on the first broken property.
use std::time::Instant;

use anyhow::bail;
use clap::Parser;
use teraslice_fuzz::{run, TARGETS};

#[derive(Parser)]
#[command(about = "Property-based fuzzing of the job validator, config parser and frame decoder")]
struct Args {
    /// Generated inputs per target.
    #[arg(long, default_value_t = 1_000_000)]
    cases: u32,
    /// Seed of the generator (the same seed replays the same inputs).
    #[arg(long, default_value_t = 15)]
    seed: u64,
    /// Targets to run (default: all of job, config, config-yaml, frame).
    #[arg(long = "target")]
    targets: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let targets: Vec<String> = if args.targets.is_empty() {
        TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        args.targets
    };
    // A panic is reported as a failed case with its message; the default hook would also print
    // every panic met while shrinking.
    std::panic::set_hook(Box::new(|_| {}));
    for target in &targets {
        let start = Instant::now();
        match run(target, args.cases, args.seed) {
            Ok(t) => println!(
                "{target:<12} {} cases, {} accepted, {} refused, 0 failures, {:.1}s (seed {})",
                t.cases,
                t.accepted,
                t.refused,
                start.elapsed().as_secs_f64(),
                args.seed
            ),
            Err(failure) => bail!("{target}: property broken (seed {}): {failure}", args.seed),
        }
    }
    Ok(())
}
