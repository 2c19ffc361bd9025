//! `teraslice run` of `examples/jobs/route-by-date.json` on the native backend: standard asset
//! transforms between data_generator and routed_sender put every record, keyed, in the
//! directory of its day.
mod common;

use common::native::{lines_below, processes_in, run_job, text};
use serde_json::Value;

#[tokio::test]
async fn the_route_by_date_example_writes_each_record_under_its_day() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/jobs/route-by-date.json"
    );
    let job: Value = serde_json::from_str(&std::fs::read_to_string(example).expect("read example"))
        .expect("example is JSON");
    let out = run_job(dir.path(), &job);
    assert!(
        out.status.success(),
        "run failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let root = dir.path().join("out");
    let mut days: Vec<String> = std::fs::read_dir(&root)
        .expect("out exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    days.sort();
    assert_eq!(days, ["2024-03-01", "2024-03-02", "2024-03-03"]);
    let mut total = 0;
    for day in &days {
        for line in lines_below(&root.join(day)) {
            let record: Value = serde_json::from_str(&line).expect("every line is JSON");
            let created = record["created"].as_str().unwrap_or_default();
            assert!(created.starts_with(day), "{created} under {day}");
            let key = record["_key"].as_str().unwrap_or_default();
            assert_eq!(key.len(), 22, "add_key's md5 key in the body: {record}");
            total += 1;
        }
    }
    assert_eq!(total, 3000, "every generated record is written once");
    assert!(
        processes_in(dir.path()).is_empty(),
        "no process left running"
    );
}
