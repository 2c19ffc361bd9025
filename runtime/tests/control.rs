//! Control from the master: pause/resume over HTTP, graceful stop, persistent jobs.
mod common;

use common::ops::{Fail, Gate};
use common::*;
use serde_json::json;
use teraslice_core::store::{SliceState, StateStore};
use teraslice_core::ExecutionStatus;
use teraslice_runtime::worker::WorkerExit;
use teraslice_runtime::OpRegistry;

#[tokio::test]
async fn pause_stops_dispatch_and_resume_continues() {
    let h = Harness::start(
        job(json!({"workers": 2})),
        OpRegistry::with_builtins(),
        timeouts(),
    )
    .await;
    wait_until("EC ready", || async {
        h.http("GET", "/health").await.0 == 200
    })
    .await;
    let (code, body) = h.http("POST", "/api/v1/pause").await;
    assert_eq!((code, body.as_str()), (200, r#"{"status":"paused"}"#));
    let _workers = h.workers(2);
    // Both workers announced themselves and the EC still has them idle: nothing was dispatched.
    wait_until("two idle workers", || async {
        let (_, body) = h.http("GET", "/api/v1/analytics").await;
        serde_json::from_str::<serde_json::Value>(&body)
            .is_ok_and(|v| v["stats"]["workers_available"] == json!(2))
    })
    .await;
    assert_eq!(
        h.count(SliceState::Start).await + h.count(SliceState::Completed).await,
        0
    );

    let (code, _) = h.http("POST", "/api/v1/resume").await;
    assert_eq!(code, 200);
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    let records = slices(&store, &ex_id).await;
    assert_eq!(records.len(), 10, "test-reader's 10 default slices");
    assert!(records.iter().all(|r| r.state == SliceState::Completed));
}

#[tokio::test]
async fn graceful_stop_drains_in_flight_slices() {
    let requests: Vec<_> = (0..20).map(|i| json!({ "n": i })).collect();
    let file = slicer_file(&requests);
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({
        "workers": 2,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "gate"}
        ]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let workers = h.workers(2);
    wait_until("both workers at the gate", || async {
        gate.entries().len() == 2
    })
    .await;
    assert!(h.ec.stop().await.is_ok());
    gate.open();

    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Terminated);
    let reason = outcome.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("received shutdown before the slicer could complete"),
        "{reason}"
    );
    let records = slices(&store, &ex_id).await;
    let in_state = |s| records.iter().filter(|r| r.state == s).count();
    assert_eq!(
        in_state(SliceState::Completed),
        2,
        "the two in-flight slices finished"
    );
    assert_eq!(in_state(SliceState::Start), 0, "none left half done");
    assert_eq!(
        in_state(SliceState::Completed) + in_state(SliceState::Pending),
        records.len()
    );
    let ex = store.get_execution(&ex_id).await.ok();
    assert_eq!(ex.map(|e| e.status), Some(ExecutionStatus::Terminated));
    for w in workers {
        assert_eq!(join_worker(w).await.exit, WorkerExit::ControllerShutdown);
    }
}

#[tokio::test]
async fn persistent_job_keeps_going_past_slice_errors_until_stopped() {
    let fail = Fail::every(4);
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("fail", fail.clone());
    let job = job(json!({
        "lifecycle": "persistent",
        "workers": 2,
        "operations": [{"_op": "test-reader"}, {"_op": "fail"}]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let workers = h.workers(2);
    wait_until("progress after failures", || async {
        h.ec.analytics()
            .await
            .is_ok_and(|a| a.stats.failed >= 2 && a.stats.processed >= 20)
    })
    .await;
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let status = store.get_execution(&ex_id).await.ok().map(|e| e.status);
    assert_eq!(
        status,
        Some(ExecutionStatus::Failing),
        "a failure puts it on probation, it keeps running"
    );

    // The master marks it stopping, then asks the EC to stop: the EC keeps `stopping`.
    let stopping = store
        .set_execution_status(&ex_id, ExecutionStatus::Stopping, &Default::default())
        .await;
    assert!(stopping.is_ok());
    assert_eq!(h.http("POST", "/api/v1/stop").await.0, 202);
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Stopping);
    assert!(outcome.stats.processed >= 20);
    let records = slices(&store, &ex_id).await;
    assert!(records.iter().any(|r| r.state == SliceState::Error));
    assert_eq!(
        records
            .iter()
            .filter(|r| r.state == SliceState::Start)
            .count(),
        0
    );
    for w in workers {
        join_worker(w).await;
    }
}

#[tokio::test]
async fn persistent_job_goes_back_to_running_after_a_clean_probation_window() {
    let fail = Fail::first(1);
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("fail", fail.clone());
    let job = job(json!({
        "lifecycle": "persistent",
        "probation_window": 100,
        "operations": [{"_op": "test-reader"}, {"_op": "fail"}]
    }));
    let h = Harness::start(job, registry, timeouts()).await;
    let _workers = h.workers(1);
    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    wait_until("failing after the first slice", || async {
        store
            .get_execution(&ex_id)
            .await
            .is_ok_and(|e| e.status == ExecutionStatus::Failing)
    })
    .await;
    wait_until(
        "running again after a window with progress and no failure",
        || async {
            store
                .get_execution(&ex_id)
                .await
                .is_ok_and(|e| e.status == ExecutionStatus::Running)
        },
    )
    .await;
    let ex = store.get_execution(&ex_id).await.ok();
    assert!(
        ex.is_some_and(|e| e.has_errors),
        "_has_errors stays set, as in Teraslice"
    );
    assert!(h.ec.stop().await.is_ok());
    assert_eq!(h.outcome().await.status, ExecutionStatus::Terminated);
}

#[tokio::test]
async fn worker_shutdown_finishes_its_slice_then_exits() {
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({"operations": [{"_op": "test-reader"}, {"_op": "gate"}]}));
    let h = Harness::start(job, registry, timeouts()).await;
    let (handle, worker) = h.worker("drainer");
    wait_until("a slice at the gate", || async {
        !gate.entries().is_empty()
    })
    .await;
    handle.shutdown();
    gate.open();
    let outcome = join_worker(worker).await;
    assert_eq!(outcome.exit, WorkerExit::ShutdownRequested);
    assert_eq!(
        outcome.slices_processed, 1,
        "it took no new slice after the request"
    );
    let slice_id = gate.entries()[0].1.clone();
    wait_until("the slice recorded as completed", || async {
        h.slices()
            .await
            .iter()
            .any(|r| r.slice_id == slice_id && r.state == SliceState::Completed)
    })
    .await;
    assert!(h.ec.stop().await.is_ok());
    assert_eq!(h.outcome().await.status, ExecutionStatus::Terminated);
}

#[tokio::test]
async fn a_worker_started_before_its_ec_keeps_trying_and_then_works() {
    // A port nobody listens on yet: the worker's first attempts are refused.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("no free port: {e}"),
    };
    let store = std::sync::Arc::new(teraslice_core::store::MemoryStore::new());
    let mut ex = teraslice_core::ExecutionRecord::new("job-1", job(json!({})));
    ex.slicer_port = Some(port);
    assert!(store.create_execution(&ex).await.is_ok());
    let opts = teraslice_runtime::WorkerOptions {
        registry: Default::default(),
        timeouts: timeouts(),
    };
    let worker = teraslice_runtime::Worker::new(
        ex.clone(),
        store.clone(),
        &format!("127.0.0.1:{port}"),
        "early",
        opts,
    );
    let worker = tokio::spawn(worker.run());
    let h = Harness::start_with(store, ex, OpRegistry::with_builtins(), timeouts()).await;
    assert_eq!(h.addr.port(), port);
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Completed);
    assert_eq!(join_worker(worker).await.slices_processed, 10);
}

/// Kubernetes (`relocatable_restart`): a stop the master did not ask for (the EC pod deleted,
/// its node drained) drains in-flight slices like any stop but leaves `running` for the Job's
/// replacement pod or the master's pod event to decide, instead of writing `terminated`.
#[tokio::test]
async fn on_kubernetes_a_stop_signal_leaves_the_status_to_the_master() {
    let requests: Vec<_> = (0..20).map(|i| json!({ "n": i })).collect();
    let file = slicer_file(&requests);
    let gate = Gate::new();
    let mut registry = OpRegistry::with_builtins();
    registry.register_processor("gate", gate.clone());
    let job = job(json!({
        "workers": 1,
        "operations": [
            {"_op": "test-reader", "slicer_data_file_path": file.path()},
            {"_op": "gate"}
        ]
    }));
    let store = std::sync::Arc::new(teraslice_core::store::MemoryStore::new());
    let ex = teraslice_core::ExecutionRecord::new("job-1", job);
    store.create_execution(&ex).await.expect("create execution");
    let h = Harness::start_with_options(store, ex, registry, timeouts(), true).await;
    let workers = h.workers(1);
    wait_until("the worker at the gate", || async {
        gate.entries().len() == 1
    })
    .await;
    assert!(h.ec.stop().await.is_ok());
    gate.open();

    let store = h.store.clone();
    let ex_id = h.ex.ex_id.clone();
    let outcome = h.outcome().await;
    assert_eq!(outcome.status, ExecutionStatus::Running);
    assert_eq!(outcome.failure_reason, None);
    let ex = store.get_execution(&ex_id).await.ok();
    assert_eq!(ex.map(|e| e.status), Some(ExecutionStatus::Running));
    let records = slices(&store, &ex_id).await;
    let in_state = |s| records.iter().filter(|r| r.state == s).count();
    assert_eq!(
        in_state(SliceState::Completed),
        1,
        "the in-flight slice finished"
    );
    assert_eq!(in_state(SliceState::Start), 0, "none left half done");
    for w in workers {
        join_worker(w).await;
    }
}
