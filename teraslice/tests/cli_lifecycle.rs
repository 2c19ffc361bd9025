//! The CLI client against a master (mock backend): submit → scale → pause → resume → stop, and an
//! API error printed as the API gave it.
mod api_support;

use std::process::Command;

use api_support::TestMaster;
use serde_json::Value;

/// Runs `teraslice <args> --cluster <url> --json`; returns (success, stdout JSON or text, stderr).
fn cli(master: &TestMaster, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_teraslice"))
        .args(args)
        .args(["--cluster", &master.url, "--json"])
        .output()
        .expect("run the teraslice CLI");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::String(stdout));
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn workers_of(master: &TestMaster, ex_id: &str) -> usize {
    let (_, state) = master.get("/cluster/state").await;
    state
        .as_object()
        .into_iter()
        .flat_map(|nodes| nodes.values())
        .flat_map(|n| n["active"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["ex_id"] == ex_id && p["assignment"] == "worker")
        .count()
}

#[tokio::test]
async fn submit_scale_pause_resume_stop_through_the_cli() {
    let master = TestMaster::start("").await;
    let file = master.dir.path().join("job.json");
    std::fs::write(&file, api_support::job("cli-job").to_string()).expect("write job file");

    let (ok, created, err) = cli(
        &master,
        &["jobs", "submit", file.to_str().expect("utf-8 path")],
    );
    assert!(ok, "submit failed: {err}");
    let job_id = created["job_id"].as_str().expect("job_id").to_string();
    let ex_id = created["ex_id"].as_str().expect("ex_id").to_string();
    master.wait_status(&ex_id, "running").await;

    let (ok, answer, err) = cli(&master, &["jobs", "workers", &job_id, "--add", "2"]);
    assert!(ok, "workers --add failed: {err}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&ex_id),
        "{answer}"
    );
    assert_eq!(workers_of(&master, &ex_id).await, 3, "1 worker + 2 added");

    let (ok, answer, err) = cli(&master, &["jobs", "pause", &job_id]);
    assert!(ok, "pause failed: {err}");
    assert_eq!(answer["status"], "paused");
    assert_eq!(master.status_of(&ex_id).await, "paused");

    let (ok, answer, err) = cli(&master, &["jobs", "resume", &job_id]);
    assert!(ok, "resume failed: {err}");
    assert_eq!(answer["status"], "running");

    let (ok, _, err) = cli(&master, &["jobs", "stop", &job_id]);
    assert!(ok, "stop failed: {err}");
    master.wait_status(&ex_id, "stopped").await;
    assert_eq!(
        workers_of(&master, &ex_id).await,
        0,
        "nothing left after the stop"
    );

    let (ok, status, err) = cli(&master, &["jobs", "status", &job_id]);
    assert!(ok, "status failed: {err}");
    assert_eq!(status["_status"], "stopped");
    assert_eq!(status["ex_id"], ex_id.as_str());
}

#[tokio::test]
async fn api_errors_are_printed_as_the_api_gave_them_and_exit_non_zero() {
    let master = TestMaster::start("").await;
    let (ok, _, err) = cli(&master, &["jobs", "start", "no-such-job"]);
    assert!(!ok, "starting an unknown job must fail");
    assert!(err.contains("404"), "status code shown: {err}");
    assert!(
        err.contains("no-such-job"),
        "the API's message names the job: {err}"
    );

    let (ok, _, err) = cli(&master, &["jobs", "workers", "no-such-job"]);
    assert!(!ok);
    assert!(err.contains("--add, --remove or --total"), "{err}");
}
