//! `file_reader`: byte-range slices read every line exactly once (with or without a trailing
//! delimiter, LF or CRLF, boundaries on line starts), directories, csv/tsv/json/raw, the api
//! layout, and unreadable input named at slicer start.
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use std::collections::BTreeSet;
use std::path::Path;

use ops_support::{fetch_all, slices, validate};
use serde_json::{json, Value};
use teraslice_runtime::ops::{OpError, Record};

fn io(e: std::io::Error) -> OpError {
    OpError::new(e.to_string())
}

fn reader_job(op: Value) -> Result<teraslice_core::job::JobConfig, OpError> {
    let mut reader = json!({"_op": "file_reader"});
    if let (Some(r), Some(extra)) = (reader.as_object_mut(), op.as_object()) {
        r.extend(extra.clone());
    }
    validate(json!({"name": "read", "operations": [reader, {"_op": "noop"}]}))
        .map_err(|e| OpError::new(format!("{e:?}")))
}

async fn read(op: Value) -> Result<(Vec<Value>, Vec<Record>), OpError> {
    let job = reader_job(op)?;
    let reqs = slices(&job, usize::MAX).await?;
    let recs = fetch_all(&job, &reqs).await?.concat();
    Ok((reqs, recs))
}

/// `n` ldjson lines of varying length joined by `delim`.
fn ndjson(n: usize, delim: &str, trailing: bool) -> String {
    let mut out: Vec<String> = (0..n)
        .map(|i| json!({"i": i, "pad": "x".repeat(i * 7 % 97)}).to_string())
        .collect();
    if trailing {
        out.push(String::new());
    }
    out.join(delim)
}

fn ids(recs: &[Record]) -> Vec<u64> {
    recs.iter().filter_map(|r| r.data["i"].as_u64()).collect()
}

async fn assert_each_line_once(
    text: &str,
    delim: &str,
    n: usize,
    size: u64,
) -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let file = dir.path().join("data.ldjson");
    std::fs::write(&file, text).map_err(io)?;
    let path = file.to_string_lossy().to_string();
    let (reqs, recs) = read(json!({
        "path": path, "size": size, "file_per_slice": false, "line_delimiter": delim
    }))
    .await?;
    assert!(
        reqs.len() > 10,
        "a small size makes many slices, got {}",
        reqs.len()
    );
    for r in &reqs {
        let keys: BTreeSet<&str> = r
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, BTreeSet::from(["length", "offset", "path", "total"]));
        assert_eq!(r["total"], json!(text.len()));
    }
    let got = ids(&recs);
    assert_eq!(
        got.len(),
        n,
        "every line once (delim {delim:?}, size {size})"
    );
    assert_eq!(
        got,
        (0..n as u64).collect::<Vec<_>>(),
        "in file order, none twice"
    );
    assert!(recs
        .iter()
        .all(|r| r.get_metadata("path") == Some(&json!(path))));
    Ok(())
}

#[tokio::test]
async fn multi_megabyte_ndjson_every_line_exactly_once() -> Result<(), OpError> {
    let n = 40_000;
    let text = ndjson(n, "\n", true);
    assert!(text.len() > 2_000_000, "{} bytes", text.len());
    assert_each_line_once(&text, "\n", n, 65_536).await?;
    assert_each_line_once(&ndjson(n, "\n", false), "\n", n, 100_000).await?;
    assert_each_line_once(&ndjson(n, "\r\n", true), "\r\n", n, 65_536).await?;
    assert_each_line_once(&ndjson(n, "\r\n", false), "\r\n", n, 77_777).await
}

#[tokio::test]
async fn slice_boundaries_on_line_starts_and_inside_delimiters() -> Result<(), OpError> {
    // Fixed 14-byte lines: with size 14*k every boundary falls exactly on a line start.
    let line = |i: usize| json!({"i": i, "p": format!("{:01}", i % 10)}).to_string();
    let text: String = (0..1000).map(|i| format!("{:<12}\r\n", line(i))).collect();
    for size in [14 * 5, 14 * 5 + 1, 14 * 5 - 1, 14 * 5 - 2, 3] {
        assert_each_line_once(&text, "\r\n", 1000, size).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_directory_reads_every_file_but_hidden_ones() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested).map_err(io)?;
    std::fs::write(dir.path().join("a.json"), "{\"i\":1}\n{\"i\":2}\n").map_err(io)?;
    std::fs::write(nested.join("b.json"), "{\"i\":3}").map_err(io)?;
    std::fs::write(dir.path().join(".hidden"), "{\"i\":99}\n").map_err(io)?;
    std::fs::write(dir.path().join("empty"), "").map_err(io)?;
    let (reqs, recs) = read(json!({"path": dir.path()})).await?;
    assert_eq!(
        reqs.len(),
        2,
        "file_per_slice (the default): one slice per non-empty file"
    );
    let mut got = ids(&recs);
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3]);
    Ok(())
}

#[tokio::test]
async fn csv_with_fields_and_header_and_tsv_with_the_files_header() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "name,age,note\nann, 33 ,\"likes, commas\"\nbob,,\"say \"\"hi\"\"\"\n",
    )
    .map_err(io)?;
    let (_, recs) =
        read(json!({"path": csv, "format": "csv", "fields": ["name", "age", "note"]})).await?;
    let data: Vec<Value> = recs.into_iter().map(Record::into_data).collect();
    assert_eq!(
        data,
        [
            json!({"name": "ann", "age": "33", "note": "likes, commas"}),
            json!({"name": "bob", "note": "say \"hi\""}),
        ],
        "header removed, quotes understood, values trimmed, empty values ignored"
    );
    let tsv = dir.path().join("people.tsv");
    let body: String = (0..500).map(|i| format!("p{i}\t{i}\r\n")).collect();
    std::fs::write(&tsv, format!("name\tn\r\n{body}")).map_err(io)?;
    let (reqs, recs) =
        read(json!({"path": tsv, "format": "tsv", "file_per_slice": false, "size": 200})).await?;
    assert!(reqs.len() > 5);
    assert_eq!(recs.len(), 500, "the header line is not a record");
    assert_eq!(
        recs[499].data,
        json!({"name": "p499", "n": "499"}),
        "fields from the file's header"
    );
    Ok(())
}

#[tokio::test]
async fn json_files_raw_lines_and_the_api_layout() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let json_file = dir.path().join("all.json");
    std::fs::write(&json_file, "[{\"i\":1},{\"i\":2}]").map_err(io)?;
    let (reqs, recs) =
        read(json!({"path": json_file, "format": "json", "file_per_slice": false, "size": 2}))
            .await?;
    assert_eq!(
        (reqs.len(), ids(&recs)),
        (1, vec![1, 2]),
        "json is read whole whatever size says"
    );

    let raw = dir.path().join("lines.txt");
    std::fs::write(&raw, "alpha\nbeta\n").map_err(io)?;
    let job = validate(json!({
        "name": "read",
        "apis": [{"_name": "file_reader_api:raw", "path": raw, "format": "raw"}],
        "operations": [{"_op": "file_reader", "_api_name": "file_reader_api:raw"}, {"_op": "noop"}]
    }))
    .map_err(|e| OpError::new(format!("{e:?}")))?;
    let recs = fetch_all(&job, &slices(&job, 10).await?).await?.concat();
    let data: Vec<Value> = recs.into_iter().map(Record::into_data).collect();
    assert_eq!(data, [json!({"data": "alpha"}), json!({"data": "beta"})]);
    Ok(())
}

#[tokio::test]
async fn bad_lines_follow_the_dead_letter_action() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let file = dir.path().join("bad.ldjson");
    std::fs::write(&file, "{\"i\":1}\nnot json\n{\"i\":2}\n").map_err(io)?;
    let err = read(json!({"path": file}))
        .await
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
    assert!(
        err.contains("bad.ldjson") && err.contains("invalid JSON") && err.contains("not json"),
        "{err}"
    );
    let (_, recs) = read(json!({"path": file, "_dead_letter_action": "none"})).await?;
    assert_eq!(ids(&recs), [1, 2]);
    // In the api layout the api entry's action applies, not the op's.
    let api_layout = |api_action: &str, op_action: &str| {
        validate(json!({
            "name": "read",
            "apis": [{"_name": "file_reader_api", "path": file, "_dead_letter_action": api_action}],
            "operations": [{"_op": "file_reader", "_api_name": "file_reader_api",
                "_dead_letter_action": op_action}, {"_op": "noop"}]
        }))
        .map_err(|e| OpError::new(format!("{e:?}")))
    };
    let job = api_layout("none", "throw")?;
    let recs = fetch_all(&job, &slices(&job, 10).await?).await?.concat();
    assert_eq!(ids(&recs), [1, 2]);
    let job = api_layout("throw", "none")?;
    let reqs = slices(&job, 10).await?;
    let err = fetch_all(&job, &reqs).await.err().map(|e| e.message);
    assert!(
        err.as_deref().is_some_and(|e| e.contains("invalid JSON")),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn unreadable_input_names_the_path_at_slicer_start() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let missing = dir.path().join("nope");
    let job = reader_job(json!({"path": missing}))?;
    let err = slices(&job, 10)
        .await
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
    assert!(
        err.contains(&*missing.to_string_lossy()) && err.contains("cannot read"),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).map_err(io)?;
    let err = slices(&reader_job(json!({"path": empty}))?, 10)
        .await
        .err()
        .map(|e| e.message);
    assert!(err.unwrap_or_default().contains("holds no files"));
    assert!(Path::new(&missing).metadata().is_err());
    Ok(())
}

#[tokio::test]
async fn a_recovered_slicer_resumes_after_the_last_completed_slice() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    for name in ["a", "b", "c"] {
        std::fs::write(dir.path().join(name), ndjson(300, "\n", true)).map_err(io)?;
    }
    let job = reader_job(json!({"path": dir.path(), "file_per_slice": false, "size": 3000}))?;
    let all = slices(&job, usize::MAX).await?;
    assert!(all.len() > 6, "{}", all.len());
    let reader = ops_support::registry().reader("file_reader")?;
    for done in [0, 2, all.len() / 2, all.len() - 1] {
        let mut slicer = reader.slicers(&ops_support::ctx(&job, 0, None))?.remove(0);
        assert!(slicer.is_recoverable());
        let recovery = teraslice_runtime::ops::SlicerRecoveryData {
            slicer_id: 0,
            last_slice: Some(all[done].clone()),
        };
        slicer.initialize(Some(&recovery)).await?;
        let mut rest = Vec::new();
        while let Some(r) = slicer.slice().await? {
            rest.push(r);
        }
        assert_eq!(rest, all[done + 1..], "after slice {done}");
    }
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn linked_files_are_read_and_linked_directories_are_not_followed() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let outside = tempfile::tempdir().map_err(io)?;
    std::fs::write(outside.path().join("x.json"), "{\"i\":7}\n").map_err(io)?;
    std::os::unix::fs::symlink(outside.path().join("x.json"), dir.path().join("x.json"))
        .map_err(io)?;
    // A link back to the directory itself would loop if followed.
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).map_err(io)?;
    let (_, recs) = read(json!({"path": dir.path()})).await?;
    assert_eq!(ids(&recs), [7]);
    Ok(())
}
