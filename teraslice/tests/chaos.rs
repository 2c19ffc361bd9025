//! The chaos run (`cargo xtask chaos [--duration 120s] [--seed N]` runs it longer): random
//! SIGKILLs of workers, execution controllers and the master (restarted on the same store), a
//! SQLite file that refuses writes, frozen processes whose connections stay open and silent, and
//! worker connections blackholed in a relay (nothing forwarded, nothing closed), during a mix of
//! `once` and `persistent` jobs. At the end every execution is terminal or
//! running as `/proc` says, no slice was cut twice, every input line was written, and no process
//! outlives its execution or the master. See docs/reliability.md for the numbers.
mod chaos_support;
mod common;

use std::time::Instant;

use chaos_support::{Chaos, Settings};
use common::native::{processes_in, wait_for, wait_gone};
use reqwest::Method;

/// Seconds of faults in the run every test suite does (CI); `CHAOS_DURATION` overrides.
const CI_SECONDS: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chaos_run_loses_no_slice_and_leaves_no_process_behind() {
    let settings = Settings::from_env(CI_SECONDS);
    eprintln!(
        "chaos: {}s of faults, seed {} (CHAOS_SEED={} replays the choices)",
        settings.duration.as_secs(),
        settings.seed,
        settings.seed
    );
    let started = Instant::now();
    let mut chaos = Chaos::start(settings.seed).await;
    chaos.run(settings.duration).await;
    let settled = chaos.settle().await;
    let findings = chaos.verify().await;
    let recoveries: u32 = chaos.recoveries.values().sum();
    eprintln!(
        "chaos: seed {} faults {:?} ({} in all), {} recoveries, {} jobs, {} executions, \
         {} slices, {} lost lines, {} duplicate lines (bound {}), {} problems, {} relayed \
         workers, {:.0}s",
        settings.seed,
        chaos.tally.0,
        chaos.tally.total(),
        recoveries,
        chaos.once_jobs.len() + 1,
        findings.executions,
        findings.slices,
        findings.lost_lines,
        findings.duplicate_lines,
        findings.duplicate_bound,
        findings.problems.len(),
        chaos.relayed_workers(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        findings.problems.is_empty(),
        "seed {}: {:#?}",
        settings.seed,
        findings.problems
    );
    assert!(
        chaos.relayed_workers() > 0,
        "no worker reached its controller through a relay (TERASLICE_NATIVE_WRAPPER unused?)"
    );
    assert!(
        settled,
        "every once job completed and the persistent job lived again after the faults ended"
    );

    // The persistent job stops on request, and its processes with it.
    let job = chaos.persistent_job.clone();
    let stopped = chaos
        .call(Method::POST, &format!("/jobs/{job}/_stop"), None)
        .await;
    assert!(stopped.is_some(), "the persistent job accepted _stop");
    wait_for("the persistent job to stop", || async {
        chaos
            .latest(&job)
            .await
            .is_some_and(|(_, s)| s == "stopped")
    })
    .await;
    // SIGTERM to the master: it stops what is left, and nothing outlives it.
    let dir = chaos.m.path().to_path_buf();
    let left = processes_in(&dir);
    drop(chaos);
    wait_gone(&left).await;
}
