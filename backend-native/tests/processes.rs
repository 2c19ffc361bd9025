//! Allocation: real child processes, the cluster state that lists them, their environment and
//! their log files.
mod common;

use common::{alive, fixture, GRACEFUL};
use teraslice_backend_native::NativeBackend;
use teraslice_core::backend::{processes_of, Assignment, StopOptions};
use teraslice_core::testing::sample_execution;
use teraslice_core::ClusterBackend;

#[tokio::test]
async fn controller_and_three_workers_are_four_processes_in_the_cluster_state() {
    let f = fixture(GRACEFUL, 6);
    let ex = f.allocate(3).await;
    let procs = f.processes(&ex.ex_id).await;
    assert_eq!(procs.len(), 4, "{procs:?}");
    let ecs = procs
        .iter()
        .filter(|(a, _)| *a == Assignment::ExecutionController)
        .count();
    assert_eq!(ecs, 1);
    for (_, pid) in &procs {
        assert!(alive(*pid), "process {pid} runs");
    }

    let state = f.backend.cluster_state().await.unwrap();
    let node = &state["127.0.0.1"];
    assert_eq!((node.total, node.available), (Some(6), Some(2)));
    assert_eq!(node.state, "connected");
    let mut ids: Vec<String> = processes_of(&state, &ex.ex_id)
        .map(|p| p.worker_id.to_string())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["3", "4", "5", "6"], "numbered after the master's two");
    assert!(processes_of(&state, &ex.ex_id).all(|p| p.job_id == ex.job_id));

    f.backend
        .stop_execution(&ex.ex_id, &StopOptions::default())
        .await
        .unwrap();
    assert!(procs.iter().all(|(_, pid)| !alive(*pid)));
    let state = f.backend.cluster_state().await.unwrap();
    assert_eq!(state["127.0.0.1"].available, Some(6));
    assert!(state["127.0.0.1"].active.is_empty());
}

#[tokio::test]
async fn allocating_twice_starts_nothing_new() {
    let f = fixture(GRACEFUL, 6);
    let ex = f.allocate(2).await;
    let before = f.pids(&ex.ex_id).await;
    let again = f.backend.allocate_execution_controller(&ex).await.unwrap();
    assert_eq!(Some(again.port), ex.slicer_port);
    f.backend.allocate_workers(&ex, 2).await.unwrap();
    assert_eq!(f.pids(&ex.ex_id).await, before);
}

#[tokio::test]
async fn controllers_get_distinct_ports_in_the_slicer_range() {
    let f = fixture(GRACEFUL, 6);
    let a = f.allocate(1).await;
    let b = f.allocate(1).await;
    let (pa, pb) = (a.slicer_port.unwrap(), b.slicer_port.unwrap());
    assert_ne!(pa, pb);
    for p in [pa, pb] {
        assert!((45680..=46678).contains(&p), "port {p} in (45679, 46678]");
    }
    assert_eq!(a.slicer_hostname.as_deref(), Some("127.0.0.1"));
}

const PRINT_ENV: &str = r#"echo "assignment=$assignment NODE_TYPE=$NODE_TYPE ex_id=$ex_id job_id=$job_id node_id=$node_id slicer=$slicer_hostname:$slicer_port config=$TERAFOUNDATION_CONFIG"; echo "EX=$EX"; echo "args=$0"; while :; do sleep 0.05; done"#;

#[tokio::test]
async fn children_learn_their_execution_from_the_environment_and_log_to_files() {
    let logs = tempfile::tempdir().unwrap();
    let mut cfg = common::config(PRINT_ENV, 4, logs.path());
    cfg.config_path = Some("/etc/teraslice/config.yaml".into());
    let f = common::Fixture {
        backend: std::sync::Arc::new(NativeBackend::new(cfg).unwrap()),
        logs,
    };
    let ex = f.allocate(1).await;
    let port = ex.slicer_port.unwrap();
    let id = &ex.ex_id;

    let ec = f.log_containing(id, "ec", "args=").await;
    let expect = format!("assignment=execution_controller NODE_TYPE=execution_controller ex_id={id} job_id={} node_id=127.0.0.1 slicer=127.0.0.1:{port} config=/etc/teraslice/config.yaml", ex.job_id);
    assert!(ec.contains(&expect), "{ec}");
    assert!(ec.contains("args=execution-controller"), "{ec}");
    assert!(
        ec.contains("EX=\n"),
        "no record in the env (the child loads it by ex_id): {ec}"
    );

    let worker = f.log_containing(id, "worker-1", "args=").await;
    assert!(
        worker.contains("assignment=worker NODE_TYPE=worker"),
        "{worker}"
    );
    assert!(
        worker.contains(&format!("slicer=127.0.0.1:{port}")),
        "{worker}"
    );
    assert!(worker.contains("args=worker"), "{worker}");
    assert!(worker.contains("EX=\n"), "{worker}");
}

#[tokio::test]
async fn stderr_goes_to_the_same_log_and_restarts_append() {
    let f = fixture(
        r#"echo "out $0"; echo "err $0" >&2; while :; do sleep 0.05; done"#,
        4,
    );
    let ex = sample_execution("logs", 1);
    f.backend.allocate_execution_controller(&ex).await.unwrap();
    f.log_containing(&ex.ex_id, "ec", "err execution-controller")
        .await;
    let force = StopOptions {
        force: true,
        ..StopOptions::default()
    };
    f.backend.stop_execution(&ex.ex_id, &force).await.unwrap();
    f.backend.allocate_execution_controller(&ex).await.unwrap();
    let log = f
        .log_containing(&ex.ex_id, "ec", "err execution-controller\nout")
        .await;
    assert_eq!(log.matches("out execution-controller").count(), 2, "{log}");
}
