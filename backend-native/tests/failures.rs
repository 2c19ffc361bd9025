//! What goes wrong becomes an event or an error: killed processes, a missing program, jobs that
//! need what processes cannot give.
mod common;

use common::{fixture, next_event, Fixture, GRACEFUL};
use teraslice_backend_native::NativeBackend;
use teraslice_core::backend::EventKind;
use teraslice_core::testing::sample_execution;
use teraslice_core::{BackendError, ClusterBackend};

fn kill9(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -9 {pid}");
}

#[tokio::test]
async fn a_killed_worker_is_reported_with_its_signal() {
    let f = fixture(GRACEFUL, 4);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(2).await;
    let victim = f.worker_pids(&ex.ex_id).await[0];
    kill9(victim);
    let kind = next_event(&mut events, &ex.ex_id, |k| {
        matches!(k, EventKind::WorkerExited { .. })
    })
    .await;
    let EventKind::WorkerExited { code, reason, .. } = &kind else {
        unreachable!()
    };
    assert_eq!(*code, None);
    assert!(reason.contains("SIGKILL"), "{reason}");
    assert_eq!(
        kind.fatal_reason(),
        None,
        "a lost worker does not fail the execution"
    );
    assert!(!f.pids(&ex.ex_id).await.contains(&victim));
}

#[tokio::test]
async fn a_killed_controller_is_a_fatal_event_naming_the_signal() {
    let f = fixture(GRACEFUL, 4);
    let mut events = f.backend.subscribe();
    let ex = f.allocate(1).await;
    let ec = f.processes(&ex.ex_id).await;
    let ec = ec
        .iter()
        .find(|(a, _)| *a == teraslice_core::backend::Assignment::ExecutionController)
        .unwrap()
        .1;
    kill9(ec);
    let kind = next_event(&mut events, &ex.ex_id, |k| {
        matches!(k, EventKind::ControllerExited { .. })
    })
    .await;
    let fatal = kind.fatal_reason().expect("a killed controller is fatal");
    assert!(fatal.contains("SIGKILL"), "{fatal}");
    // Its port is free again and a new controller can be allocated.
    let again = f.backend.allocate_execution_controller(&ex).await.unwrap();
    assert!(again.port > 45679);
}

#[tokio::test]
async fn a_controller_that_fails_reports_its_exit_code() {
    let f = fixture("exit 3", 4);
    let mut events = f.backend.subscribe();
    let ex = sample_execution("crash", 1);
    f.backend.allocate_execution_controller(&ex).await.unwrap();
    let kind = next_event(&mut events, &ex.ex_id, |k| {
        matches!(k, EventKind::ControllerExited { .. })
    })
    .await;
    assert_eq!(
        kind,
        EventKind::ControllerExited {
            code: Some(3),
            reason: "exited with code 3".to_string()
        }
    );
}

#[tokio::test]
async fn a_missing_program_is_an_allocation_error_and_an_unschedulable_event() {
    let logs = tempfile::tempdir().unwrap();
    let mut cfg = common::config(GRACEFUL, 4, logs.path());
    cfg.program = "/no/such/teraslice".into();
    let f = Fixture {
        backend: std::sync::Arc::new(NativeBackend::new(cfg).unwrap()),
        logs,
    };
    let mut events = f.backend.subscribe();
    let ex = sample_execution("missing", 1);
    let err = f
        .backend
        .allocate_execution_controller(&ex)
        .await
        .unwrap_err();
    let BackendError::Allocation(msg) = &err else {
        panic!("expected Allocation, got {err:?}");
    };
    assert!(
        msg.contains("/no/such/teraslice") && msg.contains(&ex.ex_id),
        "{msg}"
    );
    let kind = next_event(&mut events, &ex.ex_id, |_| true).await;
    let fatal = kind.fatal_reason().expect("unschedulable is fatal");
    assert!(fatal.contains("/no/such/teraslice"), "{fatal}");
    let state = f.backend.cluster_state().await.unwrap();
    assert_eq!(state["127.0.0.1"].available, Some(4), "no slot stays taken");
}

#[tokio::test]
async fn kubernetes_fields_are_ignored_as_teraslice_does() {
    let f = fixture(GRACEFUL, 4);
    let mut ex = sample_execution("volumes", 1);
    ex.job.volumes =
        vec![serde_json::from_value(serde_json::json!({"name": "data", "path": "/data"})).unwrap()];
    f.backend
        .allocate_execution_controller(&ex)
        .await
        .expect("volumes are ignored on native");
    assert!(!f.pids(&ex.ex_id).await.is_empty());
    f.backend
        .stop_execution(&ex.ex_id, &Default::default())
        .await
        .expect("stop");
}

#[tokio::test]
async fn initialize_names_a_log_dir_it_cannot_create() {
    let logs = tempfile::tempdir().unwrap();
    let file = logs.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut cfg = common::config(GRACEFUL, 4, logs.path());
    cfg.log_dir = file.join("logs");
    let backend = NativeBackend::new(cfg).unwrap();
    let err = backend.initialize().await.unwrap_err().to_string();
    assert!(
        err.contains("log_dir") && err.contains("a-file/logs"),
        "{err}"
    );
}
