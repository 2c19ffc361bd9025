//! Field transforms (teraslice-assets.md §6): `set_field`, `drop_field`, `remove_empty_fields`,
//! `add_key`, `json_parser`, `count_by_field` — defaults, rejected values, records and metadata.
mod ops_standard_support;

use ops_standard_support::{assert_rejected, job, rec, run, run_data, run_job, validated};
use serde_json::json;
use teraslice_runtime::ops::{OpError, Record};

#[tokio::test]
async fn set_field_sets_paths_and_respects_overwrite() -> Result<(), OpError> {
    assert_eq!(
        validated(json!({"_op": "set_field", "field": "a", "value": 1}))?["overwrite"],
        json!(false)
    );
    let data = || vec![json!({"a": {"b": 1}}), json!({})];
    let out = run_data(
        json!({"_op": "set_field", "field": "a.b", "value": "x"}),
        data(),
    )
    .await?;
    assert_eq!(
        out,
        vec![json!({"a": {"b": 1}}), json!({"a": {"b": "x"}})],
        "existing values stay"
    );
    let out = run_data(
        json!({"_op": "set_field", "field": "a.b", "value": {"k": [1]}, "overwrite": true}),
        data(),
    )
    .await?;
    assert_eq!(out[0], json!({"a": {"b": {"k": [1]}}}));
    assert_rejected(
        json!({"_op": "set_field", "value": 1}),
        "field",
        &["required"],
    );
    assert_rejected(
        json!({"_op": "set_field", "field": "a"}),
        "value",
        &["required", "null"],
    );
    assert_rejected(
        json!({"_op": "set_field", "field": "a", "value": null}),
        "value",
        &["required"],
    );
    assert_rejected(
        json!({"_op": "set_field", "field": "a", "value": 1, "overwrite": 1}),
        "overwrite",
        &["true or false"],
    );
    Ok(())
}

#[tokio::test]
async fn drop_field_removes_one_or_many_top_level_fields() -> Result<(), OpError> {
    let data = || vec![json!({"a": 1, "b": 2, "c": {"a": 3}})];
    let out = run_data(json!({"_op": "drop_field", "field": "a"}), data()).await?;
    assert_eq!(out, vec![json!({"b": 2, "c": {"a": 3}})]);
    let out = run_data(
        json!({"_op": "drop_field", "field": ["a", "c", "zz"]}),
        data(),
    )
    .await?;
    assert_eq!(out, vec![json!({"b": 2})]);
    assert_rejected(json!({"_op": "drop_field"}), "field", &["required"]);
    assert_rejected(
        json!({"_op": "drop_field", "field": [1]}),
        "field",
        &["strings"],
    );
    assert_rejected(
        json!({"_op": "drop_field", "field": []}),
        "field",
        &["non-empty"],
    );
    Ok(())
}

#[tokio::test]
async fn remove_empty_fields_keeps_booleans_and_numbers() -> Result<(), OpError> {
    let doc = json!({"n": null, "s": "  ", "a": [], "o": {}, "f": false, "z": 0, "t": "x", "deep": {"e": ""}});
    let out = run_data(json!({"_op": "remove_empty_fields"}), vec![doc]).await?;
    assert_eq!(
        out,
        vec![json!({"f": false, "z": 0, "t": "x", "deep": {"e": ""}})]
    );
    Ok(())
}

fn with_old_key(docs: Vec<serde_json::Value>) -> Vec<Record> {
    docs.into_iter()
        .map(|d| rec(d, json!({"_key": "orig"})))
        .collect()
}

#[tokio::test]
async fn add_key_hashes_field_values_into_body_and_metadata() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "add_key"}))?;
    for (k, v) in [
        ("key_name", json!("_key")),
        ("key_fields", json!([])),
        ("invert_key_fields", json!(false)),
        ("hash_algorithm", json!("md5")),
        ("minimum_field_count", json!(0)),
        ("preserve_original_key", json!(false)),
        ("delete_original", json!(false)),
        ("truncate_location", json!([])),
        ("truncate_location_places", json!(4)),
    ] {
        assert_eq!(cfg[k], v, "default of {k}");
    }
    // md5("ab") = 187ef4436122d1cc2f40dc2b92f0eba0 → base64 GH70Q2Ei0cwvQNwrkvDroA==.
    let op = json!({"_op": "add_key", "key_fields": ["x", "y"]});
    let out = run(op, with_old_key(vec![json!({"x": "a", "y": "b", "z": 1})])).await?;
    assert_eq!(out[0].key(), Some("GH70Q2Ei0cwvQNwrkvDroA"));
    assert_eq!(
        out[0].data["_key"],
        json!("GH70Q2Ei0cwvQNwrkvDroA"),
        "also in the body"
    );
    // Without key_fields every top-level key counts, in sorted order: the same record in
    // another key order gets the same key.
    let all = json!({"_op": "add_key", "hash_algorithm": "sha256"});
    let a = run(
        all.clone(),
        vec![rec(json!({"b": 2, "a": {"q": 1, "p": 2}}), json!({}))],
    )
    .await?;
    let b = run(
        all,
        vec![rec(json!({"a": {"p": 2, "q": 1}, "b": 2}), json!({}))],
    )
    .await?;
    assert_eq!(a[0].key(), b[0].key());
    assert!(a[0].key().is_some_and(|k| !k.contains(['=', '/', '+'])));
    Ok(())
}

#[tokio::test]
async fn add_key_counts_fields_drops_sparse_records_and_keeps_the_old_key() -> Result<(), OpError> {
    let op = json!({"_op": "add_key", "key_fields": ["x", "y", "z"], "minimum_field_count": 2,
        "preserve_original_key": true, "delete_original": true, "key_name": "id"});
    let docs = vec![
        rec(json!({"x": 1, "y": [], "z": {}}), json!({"_key": "k1"})),
        rec(json!({"x": 1, "y": null, "z": "q"}), json!({"_key": "k2"})),
    ];
    let out = run(op, docs).await?;
    assert_eq!(
        out.len(),
        1,
        "empty values do not count: the first record is dropped"
    );
    let r = &out[0];
    assert_eq!(r.data["_original_key"], json!("k2"));
    assert_eq!(r.get_metadata("_delete_id"), Some(&json!("k2")));
    assert!(r.data["id"].is_string());
    assert_eq!(r.get_metadata("id"), Some(&r.data["id"]));
    assert_eq!(r.key(), Some("k2"), "key_name id leaves _key alone");
    // Inverted: every field but the listed ones.
    let inv = json!({"_op": "add_key", "key_fields": ["noise"], "invert_key_fields": true});
    let a = run(
        inv.clone(),
        vec![rec(json!({"a": 1, "noise": 1}), json!({}))],
    )
    .await?;
    let b = run(inv, vec![rec(json!({"a": 1, "noise": 2}), json!({}))]).await?;
    assert_eq!(a[0].key(), b[0].key());
    Ok(())
}

#[tokio::test]
async fn add_key_truncates_locations_before_hashing() -> Result<(), OpError> {
    let op = json!({"_op": "add_key", "key_fields": ["loc"], "truncate_location": ["loc"], "truncate_location_places": 2});
    let key = |loc| {
        let op = op.clone();
        async move {
            run(op, vec![rec(json!({"loc": loc}), json!({}))])
                .await
                .map(|o| o[0].key().map(str::to_string))
        }
    };
    assert_eq!(
        key(json!({"lat": 33.12345, "lon": -111.98765})).await?,
        key(json!({"lat": 33.129, "lon": -111.981})).await?
    );
    assert_ne!(
        key(json!({"lat": 33.12345, "lon": 1.0})).await?,
        key(json!({"lat": 33.13, "lon": 1.0})).await?
    );
    assert_eq!(
        key(json!("33.123,-111.987")).await?,
        key(json!("33.12, -111.98")).await?
    );
    assert_eq!(
        key(json!("POINT (1.2345 2.3456)")).await?,
        key(json!("POINT (1.23 2.34)")).await?
    );
    Ok(())
}

#[test]
fn add_key_rejects_bad_config() {
    assert_rejected(
        json!({"_op": "add_key", "hash_algorithm": "crc32"}),
        "hash_algorithm",
        &["md4, md5, sha1, sha256, sha512, whirlpool", "crc32"],
    );
    assert_rejected(
        json!({"_op": "add_key", "minimum_field_count": -1}),
        "minimum_field_count",
        &["at least 0"],
    );
    assert_rejected(
        json!({"_op": "add_key", "key_fields": "a"}),
        "key_fields",
        &["array"],
    );
    assert_rejected(
        json!({"_op": "add_key", "invert_key_fields": true}),
        "invert_key_fields",
        &["key_fields"],
    );
    assert_rejected(
        json!({"_op": "add_key", "truncate_location_places": 1.5}),
        "truncate_location_places",
        &["integer"],
    );
    assert_rejected(
        json!({"_op": "add_key", "key_name": ""}),
        "key_name",
        &["non-empty"],
    );
}

#[tokio::test]
async fn json_parser_parses_raw_text_and_keeps_metadata() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "json_parser"}))?;
    assert_eq!(
        cfg["_dead_letter_action"],
        json!("log"),
        "json_parser defaults to log"
    );
    let thrown = validated(json!({"_op": "json_parser", "_dead_letter_action": "throw"}))?;
    assert_eq!(thrown["_dead_letter_action"], json!("throw"));
    let batch = vec![
        rec(json!("{\"a\":1}\u{0}"), json!({"_key": "k1"})),
        rec(json!({"data": "[1,2]"}), json!({"_key": "k2"})),
        rec(json!("{broken"), json!({"_key": "k3"})),
        rec(json!({"no": "raw"}), json!({"_key": "k4"})),
    ];
    let out = run(json!({"_op": "json_parser"}), batch.clone()).await?;
    assert_eq!(
        out.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        vec![json!({"a": 1}), json!([1, 2])]
    );
    assert_eq!(out[0].key(), Some("k1"));
    assert_eq!(out[1].key(), Some("k2"));
    let failed = run_job(
        &job(json!({"_op": "json_parser", "_dead_letter_action": "throw"}))?,
        batch,
    )
    .await;
    assert!(failed.is_err_and(|e| e.message.contains("invalid JSON")));
    Ok(())
}

#[tokio::test]
async fn json_parser_without_raw_text_rejects_only_that_record() -> Result<(), OpError> {
    let out = run(
        json!({"_op": "json_parser"}),
        vec![rec(json!(5), json!({})), rec(json!("true"), json!({}))],
    )
    .await?;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].data, json!(true));
    Ok(())
}

#[tokio::test]
async fn count_by_field_passes_records_through() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "count_by_field", "field": "a"}))?;
    assert_eq!(cfg["collect_metrics"], json!(false));
    let data = vec![json!({"a": 6}), json!({"a": "6"}), json!({})];
    let out = run_data(
        json!({"_op": "count_by_field", "field": "a", "collect_metrics": true}),
        data.clone(),
    )
    .await?;
    assert_eq!(out, data);
    assert_rejected(json!({"_op": "count_by_field"}), "field", &["required"]);
    assert_rejected(
        json!({"_op": "count_by_field", "field": "a", "collect_metrics": "no"}),
        "collect_metrics",
        &["true or false"],
    );
    Ok(())
}
