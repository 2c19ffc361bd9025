//! Fuzzing by generated input (proptest): job specs, system configs and EC⇄worker frames, built
//! from the real field names with hostile values and byte-level damage. The properties: nothing
//! panics, and every refusal names where the problem is (a field path, or for text that is not
//! even YAML/JSON, the position). `cargo xtask fuzz` runs ≥ 10^6 cases; `tests/` a few thousand.
pub mod checks;
pub mod gen;

pub use checks::{check_config_text, check_config_value, check_frame, check_job, Outcome};

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::job::validate::OpCatalog;
use teraslice_core::job::JobValidationContext;
use teraslice_runtime::OpRegistry;

/// What one fuzz target did over a run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub cases: u64,
    pub accepted: u64,
    pub refused: u64,
}

/// The fuzz targets, by name.
pub const TARGETS: &[&str] = &["job", "config", "config-yaml", "frame"];

/// A validation context with the runtime's built-in ops, on `backend`.
/// A validation context as the master builds it: the built-in ops, knowing the same connectors
/// as the context (as `teraslice::process::op_registry` does), on `backend`.
pub fn job_context(backend: ClusterManagerType) -> JobValidationContext {
    let connectors = serde_json::json!({
        "elasticsearch-next": {"default": {"node": ["localhost:9200"]}},
        "kafka": {"default": {"brokers": ["localhost:9092"]}}
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let mut config = SystemConfig::default();
    config.terafoundation.connectors = connectors.clone();
    let ops = builtin_ops().configured(&config);
    JobValidationContext {
        cluster_manager_type: backend,
        cpu_count: 2,
        kubernetes_overrides_enabled: true,
        connectors,
        ops: Some(Arc::new(ops)),
    }
}

/// Runs `cases` generated inputs of `target` from `seed`; the first failing input (shrunk) is
/// the error, with the property it broke.
pub fn run(target: &str, cases: u32, seed: u64) -> Result<Tally, String> {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let tally = std::cell::Cell::new(Tally::default());
    let count = |outcome: Result<Outcome, String>| -> Result<(), TestCaseError> {
        let mut t = tally.get();
        t.cases += 1;
        match outcome.map_err(TestCaseError::fail)? {
            Outcome::Accepted => t.accepted += 1,
            Outcome::Refused => t.refused += 1,
        }
        tally.set(t);
        Ok(())
    };
    match target {
        "job" => {
            let native = job_context(ClusterManagerType::NATIVE);
            let k8s = job_context(ClusterManagerType::KUBERNETES);
            let ops = builtin_ops().op_names();
            let result = runner.run(&(gen::job(ops), any::<bool>()), |(job, on_k8s)| {
                count(check_job(&job, if on_k8s { &k8s } else { &native }))
            });
            verdict(result)?;
        }
        "config" => verdict(runner.run(&gen::config(), |doc| count(check_config_value(&doc))))?,
        "config-yaml" => {
            verdict(runner.run(&gen::config_text(), |text| count(check_config_text(&text))))?
        }
        "frame" => verdict(runner.run(&gen::frame(), |text| count(check_frame(&text))))?,
        other => {
            return Err(format!(
                "unknown target `{other}`: one of {}",
                TARGETS.join(", ")
            ))
        }
    }
    Ok(tally.get())
}

/// The runner's result as the first failing input (shrunk) and the property it broke.
fn verdict<T: std::fmt::Debug>(result: Result<(), TestError<T>>) -> Result<(), String> {
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, input)) => Err(format!("{why}\ninput: {input:?}")),
        Err(TestError::Abort(why)) => Err(format!("aborted: {why}")),
    }
}

/// The operations of the `teraslice` binary: the core built-ins and the `file`,
/// `elasticsearch` and `standard` assets (`teraslice::default_ops`).
fn builtin_ops() -> OpRegistry {
    let mut ops = OpRegistry::with_builtins();
    teraslice_asset_file::register(&mut ops);
    teraslice_asset_elasticsearch::register(&mut ops);
    teraslice_asset_standard::register(&mut ops);
    ops
}
