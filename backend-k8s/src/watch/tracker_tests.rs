use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};
use teraslice_core::backend::EventKind;

use super::Tracker;

fn pod(name: &str, component: &str, status: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": {
            "app.kubernetes.io/component": component,
            "teraslice.terascope.io/exId": "ex1",
            "teraslice.terascope.io/jobId": "job1"
        }},
        "spec": {"containers": [{"name": "c", "image": "teraslice:bad"}]},
        "status": status
    }))
    .expect("pod fixture")
}

fn kinds(events: Vec<teraslice_core::BackendEvent>) -> Vec<EventKind> {
    events.into_iter().map(|e| e.kind).collect()
}

#[test]
fn a_worker_running_first_is_reported_after_its_controller() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let now = Instant::now();
    let w = pod("w1", "worker", json!({"phase": "Running"}));
    assert_eq!(kinds(t.applied(&w, now)), vec![]);
    let ec = pod("ec", "execution_controller", json!({"phase": "Running"}));
    assert_eq!(
        kinds(t.applied(&ec, now)),
        vec![
            EventKind::ControllerStarted,
            EventKind::WorkerStarted {
                worker_id: "w1".into()
            }
        ]
    );
    // The same state seen again (a resync) reports nothing new.
    assert_eq!(kinds(t.applied(&ec, now)), vec![]);
}

#[test]
fn a_failed_controller_pod_reports_its_exit_code_once() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let ec = pod(
        "ec",
        "execution_controller",
        json!({"phase": "Failed", "containerStatuses": [{
            "name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 3, "reason": "Error", "message": "boom"}}
        }]}),
    );
    let got = kinds(t.applied(&ec, Instant::now()));
    assert_eq!(
        got,
        vec![EventKind::ControllerExited {
            code: Some(3),
            reason: "pod ec: Error: boom".into()
        }]
    );
    assert!(got[0].fatal_reason().is_some());
    assert_eq!(kinds(t.applied(&ec, Instant::now())), vec![]);
}

#[test]
fn image_pull_failures_are_fatal_once_per_execution() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let waiting = |name: &str| {
        pod(
            name,
            "worker",
            json!({"phase": "Pending", "containerStatuses": [{
                "name": "c", "image": "teraslice:bad", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}
            }]}),
        )
    };
    let got = kinds(t.applied(&waiting("w1"), Instant::now()));
    match got.as_slice() {
        [EventKind::ImagePullFailed { reason }] => {
            assert!(reason.contains("ImagePullBackOff"), "{reason}");
            assert!(reason.contains("teraslice:bad"), "{reason}");
        }
        other => panic!("expected one ImagePullFailed, got {other:?}"),
    }
    assert_eq!(kinds(t.applied(&waiting("w2"), Instant::now())), vec![]);
}

#[test]
fn crash_loops_are_reported_with_the_restart_count() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let p = pod(
        "w1",
        "worker",
        json!({"phase": "Running", "containerStatuses": [{
            "name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}
        }]}),
    );
    let got = kinds(t.applied(&p, Instant::now()));
    assert!(
        got.iter().any(|k| matches!(k, EventKind::CrashLooping { reason } if reason.contains("restarted 5 times"))),
        "{got:?}"
    );
}

#[test]
fn a_pod_unschedulable_past_the_timeout_fails_the_execution_with_the_scheduler_message() {
    let timeout = Duration::from_secs(30);
    let mut t = Tracker::new(timeout);
    let p = pod(
        "ec",
        "execution_controller",
        json!({"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector."
        }]}),
    );
    let t0 = Instant::now();
    assert_eq!(kinds(t.applied(&p, t0)), vec![]);
    // Seeing it again later does not restart the clock.
    assert_eq!(kinds(t.applied(&p, t0 + timeout / 2)), vec![]);
    assert_eq!(
        kinds(t.check_timeouts(t0 + timeout - Duration::from_millis(1))),
        vec![]
    );
    let got = kinds(t.check_timeouts(t0 + timeout));
    match got.as_slice() {
        [EventKind::Unschedulable { reason }] => {
            assert!(
                reason.contains("didn't match Pod's node affinity"),
                "{reason}"
            )
        }
        other => panic!("expected Unschedulable, got {other:?}"),
    }
    assert_eq!(kinds(t.check_timeouts(t0 + timeout * 2)), vec![]);
}

#[test]
fn a_scheduled_pod_stops_the_unschedulable_clock() {
    let timeout = Duration::from_secs(30);
    let mut t = Tracker::new(timeout);
    let pending = pod(
        "w1",
        "worker",
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}),
    );
    let t0 = Instant::now();
    t.applied(&pending, t0);
    t.applied(&pod("w1", "worker", json!({"phase": "Pending"})), t0);
    assert_eq!(kinds(t.check_timeouts(t0 + timeout * 2)), vec![]);
}

#[test]
fn stopped_follows_the_last_pod_of_a_stopping_execution() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let now = Instant::now();
    let ec = pod("ec", "execution_controller", json!({"phase": "Running"}));
    let w = pod("w1", "worker", json!({"phase": "Running"}));
    t.applied(&ec, now);
    t.applied(&w, now);
    t.stopping("ex1");
    let got = kinds(t.deleted(&w, 1));
    assert!(
        matches!(got.as_slice(), [EventKind::WorkerExited { .. }]),
        "{got:?}"
    );
    let got = kinds(t.deleted(&ec, 0));
    assert!(
        matches!(
            got.as_slice(),
            [
                EventKind::ControllerExited { code: None, .. },
                EventKind::Stopped
            ]
        ),
        "{got:?}"
    );
}

#[test]
fn a_running_pod_missing_from_a_relist_is_reported_as_exited() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let now = Instant::now();
    t.applied(
        &pod("ec", "execution_controller", json!({"phase": "Running"})),
        now,
    );
    t.applied(&pod("w1", "worker", json!({"phase": "Running"})), now);
    let present: std::collections::HashSet<String> = ["uid-w1".to_string()].into();
    let got = kinds(t.resync(&present, |_| 1));
    match got.as_slice() {
        [EventKind::ControllerExited { code: None, reason }] => {
            assert!(reason.contains("pod ec is gone"), "{reason}")
        }
        other => panic!("expected the EC's exit, got {other:?}"),
    }
    assert_eq!(kinds(t.resync(&present, |_| 1)), vec![]);
}

#[test]
fn a_container_that_cannot_be_created_fails_the_execution() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let p = pod(
        "ec",
        "execution_controller",
        json!({"phase": "Pending", "containerStatuses": [{
            "name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "CreateContainerConfigError",
                                  "message": "secret \"es-creds\" not found"}}
        }]}),
    );
    let got = kinds(t.applied(&p, Instant::now()));
    match got.as_slice() {
        [kind @ EventKind::Unschedulable { reason }] => {
            assert!(reason.contains("es-creds"), "{reason}");
            assert!(kind.fatal_reason().is_some());
        }
        other => panic!("expected a start failure, got {other:?}"),
    }
}

#[test]
fn a_relocatable_controller_pod_that_is_deleted_is_not_an_exit() {
    let mut t = Tracker::new(Duration::from_secs(60));
    let mut ec = pod("ec", "execution_controller", json!({"phase": "Running"}));
    if let Some(l) = ec.metadata.labels.as_mut() {
        l.insert(
            "job.teraslice.terascope.io/relocatable".into(),
            "true".into(),
        );
    }
    t.applied(&ec, Instant::now());
    assert_eq!(
        kinds(t.deleted(&ec, 0)),
        vec![],
        "the Job re-creates the EC elsewhere"
    );
    // Its replacement reports a new start.
    let mut moved = ec.clone();
    moved.metadata.uid = Some("uid-ec2".into());
    assert_eq!(
        kinds(t.applied(&moved, Instant::now())),
        vec![EventKind::ControllerStarted]
    );
    // While stopping, the same deletion is the end of the EC.
    t.stopping("ex1");
    let got = kinds(t.deleted(&moved, 0));
    assert!(
        matches!(
            got.as_slice(),
            [EventKind::ControllerExited { .. }, EventKind::Stopped]
        ),
        "{got:?}"
    );
}
