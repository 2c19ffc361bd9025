//! Config validation of the elasticsearch ops in both job layouts (teraslice-assets.md §3.2, §5.1,
//! §7): Teraslice's defaults filled in, and every bad value named by its field.
mod ops_es_support;

use ops_es_support::{errors, valid};
use serde_json::{json, Value};

fn legacy(reader: Value, sender: Value) -> Value {
    json!({"name": "es", "operations": [reader, sender]})
}

fn has(errs: &[(String, String)], path: &str, needle: &str) -> bool {
    errs.iter().any(|(p, m)| p == path && m.contains(needle))
}

#[test]
fn legacy_ops_get_teraslice_defaults() {
    let job = valid(legacy(
        json!({"_op": "elasticsearch_reader", "index": "logs", "date_field_name": "created", "connection": "other"}),
        json!({"_op": "elasticsearch_bulk", "index": "out", "type": "events"}),
    ));
    let r = &job.operations[0];
    for (k, v) in [
        ("size", json!(5000)),
        ("interval", json!("auto")),
        ("delay", json!("30s")),
        ("time_resolution", json!("s")),
        ("query", json!("")),
        ("_connection", json!("other")),
        ("subslice_by_key", json!(false)),
        ("subslice_key_threshold", json!(50000)),
        ("key_type", json!("base64url")),
        ("starting_key_depth", json!(0)),
        ("useSimpleFetch", json!(false)),
        ("geo_field", json!("")),
        ("fields", Value::Null),
    ] {
        assert_eq!(r.get(k), Some(&v), "reader {k}");
    }
    assert_eq!(
        r.get("connection"),
        None,
        "legacy connection is moved to _connection"
    );
    let b = &job.operations[1];
    for (k, v) in [
        ("size", json!(500)),
        ("delete", json!(false)),
        ("create", json!(false)),
        ("update", json!(false)),
        ("upsert", json!(false)),
        ("update_fields", json!([])),
        ("update_retry_on_conflict", json!(0)),
        ("script", json!("")),
        ("script_params", json!({})),
        ("_connection", json!("default")),
    ] {
        assert_eq!(b.get(k), Some(&v), "bulk {k}");
    }
}

#[test]
fn current_layout_api_entries_get_defaults_and_ops_find_them() {
    let job = valid(json!({
        "name": "es",
        "apis": [
            {"_name": "elasticsearch_reader_api:in", "index": "logs", "date_field_name": "created"},
            {"_name": "elasticsearch_sender_api", "index": "out"}
        ],
        "operations": [
            {"_op": "elasticsearch_reader", "_api_name": "elasticsearch_reader_api:in"},
            {"_op": "elasticsearch_bulk", "_api_name": "elasticsearch_sender_api"}
        ]
    }));
    assert_eq!(job.apis[0].get("size"), Some(&json!(5000)));
    assert_eq!(job.apis[0].get("_connection"), Some(&json!("default")));
    assert_eq!(job.apis[1].get("size"), Some(&json!(500)));
    // A bulk op without _api_name uses the job's elasticsearch_sender_api entry.
    let job = valid(json!({
        "name": "es", "apis": [{"_name": "elasticsearch_sender_api", "index": "out"}],
        "operations": [{"_op": "data_generator"}, {"_op": "elasticsearch_bulk"}]
    }));
    assert_eq!(
        job.operations[1].get("index"),
        None,
        "settings stay on the entry"
    );
}

#[test]
fn every_bad_reader_value_is_named() {
    let errs = errors(legacy(
        json!({"_op": "elasticsearch_reader", "index": "Logs", "date_field_name": "created",
               "size": 0, "interval": "5 minutes", "delay": "x", "time_resolution": "h",
               "start": "yesterday", "end": true, "fields": "a", "key_type": "hex",
               "subslice_by_key": true, "subslice_key_threshold": -1, "starting_key_depth": "1",
               "useSimpleFetch": "yes", "key_range": []}),
        json!({"_op": "noop"}),
    ));
    for (path, needle) in [
        ("operations[0].index", "without upper-case"),
        ("operations[0].size", "at least 1"),
        ("operations[0].interval", "<integer><unit>"),
        ("operations[0].delay", "<integer><unit>"),
        ("operations[0].time_resolution", "must be one of s, second"),
        ("operations[0].start", "must be a date"),
        ("operations[0].end", "must be a date"),
        ("operations[0].fields", "array of strings"),
        (
            "operations[0].key_type",
            "base64url, base64, hexadecimal, HEXADECIMAL",
        ),
        ("operations[0].subslice_by_key", "needs id_field_name"),
        ("operations[0].subslice_key_threshold", "at least 1"),
        ("operations[0].starting_key_depth", "whole number"),
        ("operations[0].useSimpleFetch", "true or false"),
        ("operations[0].key_range", "non-empty array"),
    ] {
        assert!(has(&errs, path, needle), "{path} ~ {needle}: {errs:#?}");
    }
    let errs = errors(legacy(
        json!({"_op": "elasticsearch_reader", "index": "x"}),
        json!({"_op": "noop"}),
    ));
    assert!(
        has(&errs, "operations[0].date_field_name", "required"),
        "{errs:?}"
    );
    let errs = errors(legacy(
        json!({"_op": "elasticsearch_reader", "date_field_name": "d"}),
        json!({"_op": "noop"}),
    ));
    assert!(has(&errs, "operations[0].index", "required"), "{errs:?}");
}

#[test]
fn geo_and_persistent_rules() {
    let base = |extra: Value| {
        let mut op = json!({"_op": "elasticsearch_reader", "index": "x", "date_field_name": "d"});
        if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        op
    };
    let errs = errors(legacy(
        base(
            json!({"geo_box_top_left": "91,0", "geo_field": "loc", "geo_box_bottom_right": "0,0"}),
        ),
        json!({"_op": "noop"}),
    ));
    assert!(
        has(&errs, "operations[0].geo_box_top_left", "lat in [-90, 90]"),
        "{errs:?}"
    );
    let errs = errors(legacy(
        base(json!({"geo_point": "1,1"})),
        json!({"_op": "noop"}),
    ));
    assert!(
        has(&errs, "operations[0].geo_distance", "set together"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "operations[0].geo_field", "required"),
        "{errs:?}"
    );
    let errs = errors(legacy(
        base(json!({"geo_field": "loc", "geo_point": "1,1", "geo_distance": "5 parsecs"})),
        json!({"_op": "noop"}),
    ));
    assert!(
        has(&errs, "operations[0].geo_distance", "mi, yd, ft, km, m"),
        "{errs:?}"
    );
    assert!(errors(legacy(
        base(json!({"geo_field": "loc", "geo_point": "1,1", "geo_distance": "5km"})),
        json!({"_op": "noop"})
    ))
    .is_empty());
    let mut job = legacy(base(json!({})), json!({"_op": "noop"}));
    job["lifecycle"] = json!("persistent");
    let errs = errors(job);
    assert!(
        has(
            &errs,
            "operations[0].interval",
            "cannot be \"auto\" in a persistent job"
        ),
        "{errs:?}"
    );
}

#[test]
fn current_layout_errors_name_the_entry_field() {
    let errs = errors(json!({
        "name": "es",
        "apis": [{"_name": "elasticsearch_reader_api", "index": "x", "size": "big"},
                 {"_name": "elasticsearch_sender_api", "index": "o", "create": true, "delete": true}],
        "operations": [
            {"_op": "elasticsearch_reader", "_api_name": "elasticsearch_reader_api"},
            {"_op": "elasticsearch_bulk", "_api_name": "elasticsearch_sender_api"}
        ]
    }));
    assert!(has(&errs, "apis[0].size", "at least 1"), "{errs:#?}");
    assert!(
        has(
            &errs,
            "apis[1].create",
            "only one of delete, create, update, upsert"
        ),
        "{errs:#?}"
    );
    // The entry's own problem is not repeated on the op.
    assert!(
        !errs
            .iter()
            .any(|(p, _)| p.starts_with("operations[0]") && !p.ends_with("_api_name")),
        "{errs:#?}"
    );
    let errs = errors(json!({
        "name": "es",
        "apis": [{"_name": "elasticsearch_reader_api", "index": "x"}],
        "operations": [
            {"_op": "elasticsearch_reader", "_api_name": "elasticsearch_reader_api"},
            {"_op": "elasticsearch_bulk", "_api_name": "my_sender"}
        ]
    }));
    assert!(
        has(
            &errs,
            "operations[0]._api_name",
            "date_field_name: is required"
        ),
        "{errs:#?}"
    );
    assert!(
        has(&errs, "operations[1]._api_name", "my_sender"),
        "{errs:#?}"
    );
}

#[test]
fn op_keys_that_clash_with_the_entry_are_errors_for_readers_and_overrides_for_bulk() {
    let errs = errors(json!({
        "name": "es",
        "apis": [{"_name": "elasticsearch_reader_api", "index": "x", "date_field_name": "d", "size": 10}],
        "operations": [
            {"_op": "elasticsearch_reader", "_api_name": "elasticsearch_reader_api", "size": 20},
            {"_op": "elasticsearch_bulk", "index": "o", "size": 0}
        ]
    }));
    assert!(
        has(&errs, "operations[0].size", "clashes with apis entry"),
        "{errs:#?}"
    );
    assert!(has(&errs, "operations[1].size", "at least 1"), "{errs:#?}");
}

#[test]
fn id_reader_needs_an_id_field_and_enough_root_keys() {
    let op = |extra: Value| {
        let mut op = json!({"_op": "id_reader", "index": "x"});
        if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        legacy(op, json!({"_op": "noop"}))
    };
    let errs = errors(op(json!({})));
    assert!(
        has(
            &errs,
            "operations[0].id_field_name",
            "required by id_reader"
        ),
        "{errs:?}"
    );
    let mut job = op(json!({"id_field_name": "key", "key_type": "hexadecimal"}));
    job["slicers"] = json!(17);
    let errs = errors(job);
    assert!(
        has(&errs, "operations[0].key_type", "16 root keys"),
        "{errs:?}"
    );
    let errs = errors(op(json!({"field": "key", "key_range": ["a", "?"]})));
    assert!(
        has(
            &errs,
            "operations[0].key_range",
            "outside the base64url alphabet"
        ),
        "{errs:?}"
    );
    // Legacy `field` is id_field_name; a tagged api name works for id_reader too.
    let job = valid(json!({
        "name": "es", "apis": [{"_name": "elasticsearch_reader_api:ids", "index": "x", "id_field_name": "key"}],
        "operations": [{"_op": "id_reader", "_api_name": "elasticsearch_reader_api:ids"}, {"_op": "noop"}]
    }));
    assert_eq!(job.operations.len(), 2);
}

#[test]
fn bulk_bad_values_are_named() {
    let errs = errors(legacy(
        json!({"_op": "data_generator"}),
        json!({"_op": "elasticsearch_bulk", "index": "", "size": "x", "update": true, "upsert": true,
               "update_fields": "a", "update_retry_on_conflict": -1, "script_params": {"p": 1}}),
    ));
    for (path, needle) in [
        ("operations[1].index", "non-empty index name"),
        ("operations[1].size", "at least 1"),
        ("operations[1].upsert", "only one of"),
        ("operations[1].update_fields", "array of strings"),
        ("operations[1].update_retry_on_conflict", "at least 0"),
        ("operations[1].script_params", "record field name"),
    ] {
        assert!(has(&errs, path, needle), "{path} ~ {needle}: {errs:#?}");
    }
}

#[test]
fn a_legacy_connection_must_name_a_connector() {
    let errs = errors(legacy(
        json!({"_op": "elasticsearch_reader", "index": "x", "date_field_name": "d", "connection": "nope"}),
        json!({"_op": "elasticsearch_bulk", "index": "o", "connection": "gone"}),
    ));
    assert!(
        has(&errs, "operations[0].connection", "no connector \"nope\""),
        "{errs:#?}"
    );
    assert!(
        has(
            &errs,
            "operations[1].connection",
            "configured: [default, other]"
        ),
        "{errs:#?}"
    );
}
