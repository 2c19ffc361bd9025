//! `_recover` of an execution whose controller was killed: the new execution completes and,
//! together with the old one, writes every input line.
mod common;

use std::collections::HashMap;
use std::io::Write;

use common::native::{lines_below, wait_for, NativeMaster};
use serde_json::{json, Value};

const LINES: u64 = 20_000;

/// Runs file_reader → delay → file_exporter, kills its controller part-way, recovers it, and
/// returns how often each input id was written.
async fn killed_then_recovered() -> HashMap<u64, usize> {
    let m = NativeMaster::start();
    let input = m.path().join("input.ldjson");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("create input"));
        for i in 0..LINES {
            writeln!(f, "{}", json!({"id": i, "pad": "x".repeat(50)})).expect("write input");
        }
    }
    let out = m.path().join("out");
    let spec = json!({
        "name": "recover-me", "lifecycle": "once", "workers": 2,
        "operations": [
            {"_op": "file_reader", "path": input, "file_per_slice": false, "size": 20000},
            {"_op": "delay", "ms": 100},
            {"_op": "file_exporter", "path": out, "file_per_slice": true}
        ]
    });
    let ex_id = m.submit(&spec).await;
    m.wait_workers(&ex_id, 2).await;
    wait_for("some slices completed", || async {
        m.completed(&ex_id).await >= 10
    })
    .await;
    let ec = m.pids(&ex_id, "execution_controller").await;
    assert_eq!(ec.len(), 1, "one controller");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &ec[0].to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -9 the controller");
    m.wait_status(&ex_id, "failed").await;

    let body = m.post(&format!("/ex/{ex_id}/_recover")).await;
    let new_ex = body["ex_id"]
        .as_str()
        .expect("the recovered ex_id")
        .to_string();
    assert_ne!(new_ex, ex_id, "recovery is a new execution");
    m.wait_status(&new_ex, "completed").await;

    let mut seen = HashMap::new();
    for line in lines_below(&out) {
        let v: Value = serde_json::from_str(&line).expect("every line is JSON");
        let id = v["id"].as_u64().expect("id");
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

#[tokio::test]
async fn a_recovered_execution_finishes_the_input_of_one_whose_controller_was_killed() {
    let seen = killed_then_recovered().await;
    let missing: Vec<u64> = (0..LINES).filter(|i| !seen.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "{} input lines never written",
        missing.len()
    );
}

/// Regression (runtime/src/controller/recovery.rs): the slicer used to resume after the last
/// *completed* slice while the unfinished slices after it were also re-queued, so every slice
/// queued but not finished at the kill was processed twice.
#[tokio::test]
async fn a_recovered_execution_writes_only_the_in_flight_slices_twice() {
    let seen = killed_then_recovered().await;
    let twice = seen.values().filter(|&&n| n > 1).count();
    // At the kill at most 2 slices (one per worker) were written but not recorded as completed;
    // a 20000-byte slice holds under 300 of these ~70-byte lines.
    assert!(
        twice <= 2 * 300,
        "{twice} input lines written more than once"
    );
}
