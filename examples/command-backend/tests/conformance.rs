//! The core `ClusterBackend` conformance suite, on commands run through `sh -c`.
use std::sync::Arc;

use teraslice_core::config::SystemConfig;
use teraslice_core::testing::backend::{run_all, BackendHarness};
use teraslice_example_command_backend::{CommandBackend, CommandConfig};

/// Stands in for `teraslice`: runs until SIGTERM, then exits 0. `$0` is the subcommand.
const GRACEFUL: &str =
    r#"trap "exit 0" TERM; echo "ready $0 $ex_id"; while :; do sleep 0.05; done"#;

#[tokio::test]
async fn the_command_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "teraslice:\n  cluster_manager_type: command\n  slicer_port_range: '48100:48199'\n  data_dir: {}\n  shutdown_timeout: 5000\n  command:\n    template: [sh, -c, '{GRACEFUL}', '{{subcommand}}']\n",
        dir.path().display()
    );
    let config = SystemConfig::from_yaml_str(&yaml).expect("config");
    let cfg = CommandConfig::from_system_config(&config).expect("command config");
    let backend = Arc::new(CommandBackend::new(cfg));
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
