//! `teraslice run` on the native backend moves every record exactly once: data_generator and
//! file_reader into file_exporter, with several worker processes.
mod common;

use std::collections::HashSet;
use std::io::Write;

use common::native::{count_slices, ex_id_of, lines_below, processes_in, run_job, store_in, text};
use serde_json::{json, Value};
use teraslice_core::store::SliceState;

const RECORD_FIELDS: [&str; 9] = [
    "ip",
    "userAgent",
    "url",
    "uuid",
    "created",
    "ipv6",
    "location",
    "bytes",
    "id",
];

#[tokio::test]
async fn data_generator_to_file_exporter_with_four_workers_writes_every_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let job = json!({
        "name": "generate", "lifecycle": "once", "workers": 4,
        "operations": [
            {"_op": "data_generator", "size": 20000, "set_id": "hexadecimal"},
            {"_op": "file_exporter", "path": "out", "format": "ldjson",
             "file_per_slice": false, "size": 1000}
        ]
    });
    let out = run_job(dir.path(), &job);
    assert!(
        out.status.success(),
        "run failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let lines = lines_below(&dir.path().join("out"));
    assert_eq!(lines.len(), 20000, "one line per generated record");
    let mut uuids = HashSet::new();
    for line in &lines {
        let record: Value = serde_json::from_str(line).expect("every line is JSON");
        for field in RECORD_FIELDS {
            assert!(record.get(field).is_some(), "no {field} in {record}");
        }
        assert!(record["bytes"].is_u64(), "bytes is an integer: {record}");
        uuids.insert(record["uuid"].as_str().expect("uuid string").to_string());
    }
    assert_eq!(uuids.len(), 20000, "no record is written twice");

    // 20000 records, the last op's size 1000 → 20 slices, all completed.
    let store = store_in(dir.path());
    let ex_id = ex_id_of(&out);
    assert_eq!(
        count_slices(&store, &ex_id, SliceState::Completed).await,
        20
    );
    assert_eq!(count_slices(&store, &ex_id, SliceState::Error).await, 0);
    assert!(
        processes_in(dir.path()).is_empty(),
        "no process left running"
    );
}

#[tokio::test]
async fn file_reader_reads_a_multi_megabyte_file_every_line_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("input.ldjson");
    let total = 50_000usize;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("create input"));
        for i in 0..total {
            // ~100 bytes a line, so lines straddle the 64 KiB slice boundaries everywhere.
            let pad = "x".repeat(60 + i % 37);
            writeln!(f, "{}", json!({"id": i, "pad": pad})).expect("write input");
        }
        f.flush().expect("flush input");
    }
    let size = std::fs::metadata(&input).expect("input metadata").len();
    assert!(
        size > 4_000_000,
        "the input is multi-megabyte ({size} bytes)"
    );

    let job = json!({
        "name": "read", "lifecycle": "once", "workers": 3,
        "operations": [
            {"_op": "file_reader", "path": input, "format": "ldjson",
             "file_per_slice": false, "size": 65536},
            {"_op": "file_exporter", "path": "out", "format": "ldjson", "file_per_slice": true}
        ]
    });
    let out = run_job(dir.path(), &job);
    assert!(
        out.status.success(),
        "run failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let mut ids: Vec<u64> = lines_below(&dir.path().join("out"))
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("every line is JSON");
            v["id"].as_u64().unwrap_or_else(|| panic!("no id in {l}"))
        })
        .collect();
    ids.sort_unstable();
    let want: Vec<u64> = (0..total as u64).collect();
    assert_eq!(ids.len(), total, "as many lines out as in");
    assert!(ids == want, "every input line is written exactly once");

    let slices = size.div_ceil(65536);
    let store = store_in(dir.path());
    let ex_id = ex_id_of(&out);
    assert_eq!(
        count_slices(&store, &ex_id, SliceState::Completed).await,
        slices
    );
    assert!(
        processes_in(dir.path()).is_empty(),
        "no process left running"
    );
}
