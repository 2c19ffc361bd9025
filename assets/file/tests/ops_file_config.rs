//! `file_reader` / `file_exporter` config: Teraslice's defaults, and every bad value named by its
//! field (on the op, or in the `file_reader_api` / `file_sender_api` entry).
// One copy for the three asset crates (they share the registry it builds).
#[path = "../../standard/tests/ops_support/mod.rs"]
mod ops_support;

use ops_support::{errors, validate};
use serde_json::{json, Value};

fn with(op: &str, extra: &Value) -> Value {
    let mut o = json!({"_op": op, "path": "/data/in"});
    if let (Some(m), Some(e)) = (o.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
        // A null in the table removes the key.
        m.retain(|_, v| !v.is_null());
    }
    o
}

fn job_for(op: &str, extra: &Value) -> Value {
    let ops = if op == "file_reader" {
        json!([with(op, extra), {"_op": "noop"}])
    } else {
        json!([{"_op": "test-reader"}, with(op, extra)])
    };
    json!({"name": "files", "operations": ops})
}

#[test]
fn every_bad_value_is_named() {
    let both = [
        (json!({"path": null}), "path", "required"),
        (json!({"path": 5}), "path", "must be a non-empty string"),
        (
            json!({"format": "xml"}),
            "format",
            "must be one of ldjson, json, csv, tsv, raw, got \"xml\"",
        ),
        (
            json!({"line_delimiter": ""}),
            "line_delimiter",
            "must be a non-empty string, got \"\"",
        ),
        (
            json!({"field_delimiter": 1}),
            "field_delimiter",
            "must be a non-empty string, got 1",
        ),
        (
            json!({"fields": "name"}),
            "fields",
            "must be an array of field names (strings), got \"name\"",
        ),
        (
            json!({"fields": ["a", 1]}),
            "fields",
            "must be an array of field names",
        ),
        (
            json!({"file_per_slice": "yes"}),
            "file_per_slice",
            "must be true or false, got \"yes\"",
        ),
        (
            json!({"include_header": 1}),
            "include_header",
            "must be true or false, got 1",
        ),
        (
            json!({"compression": "zip"}),
            "compression",
            "must be one of none, gzip, lz4, got \"zip\"",
        ),
        (
            json!({"concurrency": 0}),
            "concurrency",
            "must be an integer >= 1",
        ),
        (
            json!({"extension": 3}),
            "extension",
            "must be a string, got 3",
        ),
    ];
    let reader_only = [
        (
            json!({"compression": "gzip", "file_per_slice": false}),
            "file_per_slice",
            "must be set to true if compression is set to anything other than \"none\"",
        ),
        (
            json!({"size": 0}),
            "size",
            "must be an integer >= 1 (bytes per slice), got 0",
        ),
        (
            json!({"size": "big"}),
            "size",
            "must be an integer >= 1 (bytes per slice), got \"big\"",
        ),
        (
            json!({"remove_header": "no"}),
            "remove_header",
            "must be true or false",
        ),
        (
            json!({"ignore_empty": 0}),
            "ignore_empty",
            "must be true or false",
        ),
    ];
    for (op, index) in [("file_reader", 0), ("file_exporter", 1)] {
        let cases = both.iter().chain(if index == 0 {
            reader_only.iter()
        } else {
            [].iter()
        });
        for (extra, path, message) in cases {
            let errs = errors(job_for(op, extra));
            assert_eq!(errs.len(), 1, "{op} {extra}: {errs:?}");
            assert_eq!(
                errs[0].path,
                format!("operations[{index}].{path}"),
                "{op} {extra}"
            );
            assert!(
                errs[0].message.contains(message),
                "{op} {extra}: {}",
                errs[0].message
            );
        }
    }
}

#[test]
fn api_entries_are_checked_and_the_op_must_point_at_the_right_module() {
    let errs = errors(json!({
        "name": "files",
        "apis": [{"_name": "file_reader_api", "path": "/in", "size": -1}],
        "operations": [{"_op": "file_reader", "_api_name": "file_reader_api"}, {"_op": "noop"}]
    }));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].path, "apis[0].size");
    assert!(errs[0]
        .message
        .contains("must be an integer >= 1 (bytes per slice), got -1"));

    let errs = errors(json!({
        "name": "files",
        "apis": [{"_name": "file_sender_api", "path": "/out"}],
        "operations": [{"_op": "file_reader", "_api_name": "file_sender_api", "path": "/in"}, {"_op": "noop"}]
    }));
    let mut got: Vec<(String, String)> = errs.into_iter().map(|e| (e.path, e.message)).collect();
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "operations[0]._api_name");
    assert!(
        got[0].1.contains("must name a file_reader_api entry"),
        "{}",
        got[0].1
    );
    assert_eq!(got[1].0, "operations[0].path");
    assert!(
        got[1]
            .1
            .contains("must not be set on the op when _api_name is given"),
        "{}",
        got[1].1
    );
}

#[test]
fn validation_fills_the_file_assets_defaults() -> Result<(), String> {
    let job = validate(job_for("file_reader", &json!({}))).map_err(|e| format!("{e:?}"))?;
    let op = &job.operations[0];
    let want = [
        ("format", json!("ldjson")),
        ("size", json!(10_000_000)),
        ("line_delimiter", json!("\n")),
        ("field_delimiter", json!(",")),
        ("fields", json!([])),
        ("file_per_slice", json!(true)),
        ("include_header", json!(false)),
        ("remove_header", json!(true)),
        ("ignore_empty", json!(true)),
        ("compression", json!("none")),
    ];
    for (key, value) in want {
        assert_eq!(op.get(key), Some(&value), "{key}");
    }
    let job = validate(job_for("file_exporter", &json!({}))).map_err(|e| format!("{e:?}"))?;
    assert_eq!(
        job.operations[1].get("size"),
        None,
        "the exporter has no size"
    );
    assert_eq!(job.operations[1].get("file_per_slice"), Some(&json!(true)));
    Ok(())
}
