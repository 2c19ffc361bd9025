//! `file_exporter`: reader → exporter → reader round trip, the file layout per worker and
//! slice, csv headers, json arrays, raw lines, and concurrent workers in one directory.
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::path::Path;

use ops_support::{ctx, fetch_all, registry, slices, validate};
use serde_json::{json, Value};
use teraslice_core::job::JobConfig;
use teraslice_runtime::ops::{BatchProcessor, OpError, Record};

fn io(e: std::io::Error) -> OpError {
    OpError::new(e.to_string())
}

fn job(reader: Value, exporter: Value) -> Result<JobConfig, OpError> {
    validate(json!({"name": "export", "operations": [reader, exporter]}))
        .map_err(|e| OpError::new(format!("{e:?}")))
}

fn exporter(dir: &Path, extra: Value) -> Value {
    let mut op = json!({"_op": "file_exporter", "path": dir});
    if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    op
}

async fn processor(job: &JobConfig, worker: &str) -> Result<Box<dyn BatchProcessor>, OpError> {
    let p = registry().processor("file_exporter")?;
    let mut p = p.processor(&ctx(job, 1, Some(worker)))?;
    p.initialize().await?;
    Ok(p)
}

fn files(dir: &Path) -> Result<Vec<String>, OpError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names)
}

fn sorted(recs: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = recs.iter().map(|r| r.data.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn generator_to_exporter_to_reader_round_trips() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let gen = json!({"_op": "data_generator", "size": 2500, "seed": 1, "format": "utcBetween", "end": "2022-01-01T00:00:00Z"});
    for (format, per_slice) in [
        ("ldjson", false),
        ("ldjson", true),
        ("json", true),
        ("csv", false),
    ] {
        let out = dir.path().join(format!("{format}-{per_slice}"));
        let extra = json!({"format": format, "file_per_slice": per_slice, "include_header": true, "size": 1000});
        let write = job(gen.clone(), exporter(&out, extra))?;
        let batches = fetch_all(&write, &slices(&write, 100).await?).await?;
        assert_eq!(batches.len(), 3);
        let mut p = processor(&write, "w1").await?;
        for b in &batches {
            let back = p.on_batch(b.clone()).await?;
            assert_eq!(&back, b, "the exporter returns its input");
        }
        let want = if per_slice {
            vec!["w1.0", "w1.1", "w1.2"]
        } else {
            vec!["w1"]
        };
        assert_eq!(files(&out)?, want, "{format}");

        let read = job(
            json!({"_op": "file_reader", "path": out, "format": format, "file_per_slice": false, "size": 4096}),
            json!({"_op": "noop"}),
        )?;
        let again = fetch_all(&read, &slices(&read, usize::MAX).await?)
            .await?
            .concat();
        let mut written = batches.concat();
        if format == "csv" {
            // csv carries strings: compare with the values as text.
            for r in &mut written {
                if let Some(b) = r.data.get_mut("bytes") {
                    *b = json!(b.to_string());
                }
            }
        }
        assert_eq!(
            sorted(&again),
            sorted(&written),
            "{format} per_slice={per_slice}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn per_slice_files_never_overwrite_and_csv_headers_are_exact() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let j = job(
        json!({"_op": "test-reader"}),
        exporter(
            dir.path(),
            json!({"format": "csv", "fields": ["name", "age"], "include_header": true, "extension": ".csv"}),
        ),
    )?;
    let batch = vec![
        Record::new(json!({"name": "chilly", "age": 33, "x": 1})),
        Record::new(json!({"name": "wi,lly"})),
    ];
    processor(&j, "w/1").await?.on_batch(batch.clone()).await?;
    // A restarted worker with the same id starts counting at 0 again: it must skip w_1.0.
    processor(&j, "w/1").await?.on_batch(batch).await?;
    processor(&j, "w/1").await?.on_batch(Vec::new()).await?;
    assert_eq!(
        files(dir.path())?,
        ["w_1.0.csv", "w_1.1.csv"],
        "no file for an empty slice"
    );
    let text = std::fs::read_to_string(dir.path().join("w_1.1.csv")).map_err(io)?;
    assert_eq!(text, "name,age\nchilly,33\n\"wi,lly\",\n");
    Ok(())
}

#[tokio::test]
async fn ldjson_fields_raw_and_line_delimiter() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let ld = dir.path().join("ld");
    let j = job(
        json!({"_op": "test-reader"}),
        exporter(
            &ld,
            json!({"fields": ["name"], "line_delimiter": "\r\n", "file_per_slice": false}),
        ),
    )?;
    let mut p = processor(&j, "w1").await?;
    p.on_batch(vec![Record::new(json!({"name": "a", "age": 1}))])
        .await?;
    p.on_batch(vec![Record::new(json!({"name": "b", "age": 2}))])
        .await?;
    let text = std::fs::read_to_string(ld.join("w1")).map_err(io)?;
    assert_eq!(
        text, "{\"name\":\"a\"}\r\n{\"name\":\"b\"}\r\n",
        "appended to one file"
    );

    let raw = dir.path().join("raw");
    let j = job(
        json!({"_op": "test-reader"}),
        exporter(&raw, json!({"format": "raw"})),
    )?;
    let mut p = processor(&j, "w1").await?;
    p.on_batch(vec![
        Record::new(json!({"data": "one"})),
        Record::new(json!("two")),
    ])
    .await?;
    assert_eq!(
        std::fs::read_to_string(raw.join("w1.0")).map_err(io)?,
        "one\ntwo\n"
    );
    let err = p
        .on_batch(vec![Record::new(json!({"n": 1}))])
        .await
        .err()
        .map(|e| e.message);
    assert!(err
        .unwrap_or_default()
        .contains("format raw needs each record to be a string"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_write_whole_lines_to_their_own_files() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let j = job(
        json!({"_op": "test-reader"}),
        exporter(dir.path(), json!({"file_per_slice": false})),
    )?;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let j = j.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = processor(&j, &format!("worker-{w}")).await?;
            for s in 0..50 {
                let batch = (0..40)
                    .map(|i| Record::new(json!({"w": w, "s": s, "i": i, "pad": "y".repeat(300)})))
                    .collect();
                p.on_batch(batch).await?;
            }
            Ok::<(), OpError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| OpError::new(e.to_string()))??;
    }
    assert_eq!(
        files(dir.path())?,
        ["worker-0", "worker-1", "worker-2", "worker-3"]
    );
    for w in 0..4 {
        let text = std::fs::read_to_string(dir.path().join(format!("worker-{w}"))).map_err(io)?;
        let lines: Vec<Value> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| OpError::new(e.to_string()))?;
        assert_eq!(lines.len(), 2000);
        assert!(lines.iter().all(|l| l["w"] == json!(w)));
    }
    Ok(())
}

#[tokio::test]
async fn routed_records_go_to_sub_directories() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let j = job(
        json!({"_op": "test-reader"}),
        exporter(dir.path(), json!({})),
    )?;
    let mut p = processor(&j, "w1").await?;
    let routed = |route: &str, i: u32| {
        let mut r = Record::new(json!({ "i": i }));
        r.set_metadata("standard:route", json!(route));
        r
    };
    let batch = vec![
        routed("a", 1),
        routed("b/c", 2),
        Record::new(json!({"i": 3})),
        routed("a", 4),
    ];
    p.on_batch(batch).await?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(io);
    assert_eq!(read(&dir.path().join("a/w1.0"))?, "{\"i\":1}\n{\"i\":4}\n");
    assert_eq!(read(&dir.path().join("b/c/w1.0"))?, "{\"i\":2}\n");
    assert_eq!(read(&dir.path().join("w1.0"))?, "{\"i\":3}\n");
    let err = p
        .on_batch(vec![routed("../escape", 5)])
        .await
        .err()
        .map(|e| e.message);
    assert!(err
        .unwrap_or_default()
        .contains("standard:route must be a relative path"));
    Ok(())
}
