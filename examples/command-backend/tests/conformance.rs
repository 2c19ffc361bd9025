//! The core `ClusterBackend` conformance suite, on commands run through `sh -c`.
use std::sync::Arc;

use teraslice_core::backend::{BackendEvent, EventKind};
use teraslice_core::config::SystemConfig;
use teraslice_core::testing::backend::{run_all, BackendHarness};
use teraslice_core::testing::sample_execution;
use teraslice_core::ClusterBackend;
use teraslice_example_command_backend::{CommandBackend, CommandConfig};

/// Stands in for `teraslice`: runs until SIGTERM, then exits 0. `$0` is the subcommand.
const GRACEFUL: &str =
    r#"trap "exit 0" TERM; echo "ready $0 $ex_id"; while :; do sleep 0.05; done"#;

/// A backend whose processes run `script` (`$0` is the subcommand), logging under `dir`.
fn backend(dir: &std::path::Path, script: &str) -> Arc<CommandBackend> {
    let yaml = format!(
        "teraslice:\n  cluster_manager_type: command\n  slicer_port_range: '48100:48199'\n  data_dir: {}\n  shutdown_timeout: 5000\n  command:\n    template: [sh, -c, '{script}', '{{subcommand}}']\n",
        dir.display()
    );
    let config = SystemConfig::from_yaml_str(&yaml).expect("config");
    let cfg = CommandConfig::from_system_config(&config).expect("command config");
    Arc::new(CommandBackend::new(cfg))
}

#[tokio::test]
async fn the_command_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = backend(dir.path(), GRACEFUL);
    run_all(&BackendHarness::new(backend)).await;
    // The processes wrote where the backend said: one log per command, under the execution.
    let logs = std::fs::read_dir(dir.path().join("command"))
        .expect("work dir")
        .flatten()
        .filter(|e| e.path().join("ec.log").is_file())
        .count();
    assert!(
        logs >= 7,
        "one ec.log per execution the suite ran, found {logs}"
    );
}

#[tokio::test]
async fn a_command_that_fails_is_reported_with_its_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = backend(
        dir.path(),
        "echo \"cannot reach the scheduler\" >&2; exit 3",
    );
    backend.initialize().await.expect("initialize");
    let mut events = backend.subscribe();
    let ex = sample_execution("failing", 1);
    backend
        .allocate_execution_controller(&ex)
        .await
        .expect("the command starts");
    let mut seen = Vec::new();
    while let Ok(Ok(BackendEvent { kind, .. })) =
        tokio::time::timeout(std::time::Duration::from_secs(30), events.recv()).await
    {
        let exited = matches!(kind, EventKind::ControllerExited { .. });
        seen.push(kind);
        if exited {
            break;
        }
    }
    let exit = seen.last().and_then(|k| k.fatal_reason());
    assert_eq!(
        exit.as_deref(),
        Some("execution controller exited (code 3): exited with code 3"),
        "{seen:?}"
    );
    let log = dir.path().join("command").join(&ex.ex_id).join("ec.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("cannot reach the scheduler"),
        "{}: {text}",
        log.display()
    );
}
