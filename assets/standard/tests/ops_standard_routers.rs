//! The router ops and `set_key` (teraslice-assets.md §6): config defaults and every rejected
//! value, and the metadata they write (`standard:route`, `_key`).
mod ops_standard_support;

use ops_standard_support::{assert_rejected, rec, routes, run, validated};
use serde_json::{json, Value};
use teraslice_runtime::ops::{OpError, Record};

fn keyed(keys: &[&str]) -> Vec<Record> {
    keys.iter()
        .map(|k| rec(json!({}), json!({"_key": k})))
        .collect()
}

#[tokio::test]
async fn set_key_copies_a_top_level_field_into_metadata_key() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "set_key"}))?;
    assert_eq!(cfg["field"], json!("_key"));
    let out = run(
        json!({"_op": "set_key", "field": "id"}),
        vec![
            rec(json!({"id": "abc"}), json!({"_key": "old"})),
            rec(json!({"id": 7}), json!({})),
            rec(json!({"other": 1}), json!({"_key": "gone"})),
        ],
    )
    .await?;
    assert_eq!(out[0].key(), Some("abc"));
    assert_eq!(out[1].get_metadata("_key"), Some(&json!(7)));
    assert_eq!(
        out[2].get_metadata("_key"),
        None,
        "a missing field unsets _key"
    );
    assert_eq!(out[0].data, json!({"id": "abc"}), "the body is untouched");
    assert_rejected(
        json!({"_op": "set_key", "field": 3}),
        "field",
        &["string", "3"],
    );
    Ok(())
}

#[tokio::test]
async fn key_router_takes_characters_of_the_key_with_case_and_suffix() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "key_router"}))?;
    assert_eq!(cfg["case"], json!("preserve"));
    assert_eq!(cfg["suffix_use"], json!(false));
    let out = run(json!({"_op": "key_router"}), keyed(&["AbC"])).await?;
    assert_eq!(routes(&out), vec![json!("AbC")], "no use: the whole key");
    let out = run(
        json!({"_op": "key_router", "use": 2, "from": "end", "case": "lower"}),
        keyed(&["xyZQ", "a"]),
    )
    .await?;
    assert_eq!(routes(&out), vec![json!("zq"), json!("a")]);
    let op = json!({"_op": "key_router", "use": 1, "from": "beginning", "suffix_use": true,
        "suffix_upper": "_u", "suffix_lower": "_l", "suffix_number": "_n", "suffix_other": "_o", "case": "upper"});
    let out = run(op, keyed(&["Ab", "ab", "9b", "-b"])).await?;
    assert_eq!(
        routes(&out),
        vec![json!("A_U"), json!("A_L"), json!("9_N"), json!("-_O")],
        "the suffix names the character's class and is cased too"
    );
    let missing = run(
        json!({"_op": "key_router"}),
        vec![rec(json!({}), json!({}))],
    )
    .await;
    assert!(missing.is_err_and(|e| e.message.contains("_key")));
    Ok(())
}

#[test]
fn key_router_rejects_bad_config() {
    assert_rejected(
        json!({"_op": "key_router", "use": 0, "from": "end"}),
        "use",
        &["at least 1", "0"],
    );
    assert_rejected(
        json!({"_op": "key_router", "use": 2}),
        "from",
        &["required", "beginning", "end"],
    );
    assert_rejected(
        json!({"_op": "key_router", "from": "end"}),
        "use",
        &["required"],
    );
    assert_rejected(
        json!({"_op": "key_router", "use": 1, "from": "middle"}),
        "from",
        &["beginning", "middle"],
    );
    assert_rejected(
        json!({"_op": "key_router", "case": "title"}),
        "case",
        &["preserve, lower, upper", "title"],
    );
    assert_rejected(
        json!({"_op": "key_router", "use": 1, "from": "end", "suffix_use": true}),
        "suffix_use",
        &["suffix_upper"],
    );
    assert_rejected(
        json!({"_op": "key_router", "use": 2, "from": "end", "suffix_use": true, "suffix_upper": "u"}),
        "suffix_use",
        &["use: 1"],
    );
}

#[tokio::test]
async fn hash_router_partitions_by_fnv1a_of_key_or_fields() -> Result<(), OpError> {
    assert_eq!(
        validated(json!({"_op": "hash_router", "partitions": 4}))?["fields"],
        json!([])
    );
    // FNV-1a-32("a") = 0xe40c292c = 3826002220; mod 10 = 0. ("ab": 0x4d2505ca = 1294271946 → 6.)
    let out = run(
        json!({"_op": "hash_router", "partitions": 10}),
        keyed(&["a", "ab"]),
    )
    .await?;
    assert_eq!(routes(&out), vec![json!("0"), json!("6")]);
    let op = json!({"_op": "hash_router", "partitions": 10, "fields": ["x", "y"]});
    let out = run(op, vec![rec(json!({"x": "a", "y": "b"}), json!({}))]).await?;
    assert_eq!(
        routes(&out),
        vec![json!("6")],
        "field values are concatenated"
    );
    assert_rejected(json!({"_op": "hash_router"}), "partitions", &["required"]);
    assert_rejected(
        json!({"_op": "hash_router", "partitions": 0}),
        "partitions",
        &["at least 1"],
    );
    assert_rejected(
        json!({"_op": "hash_router", "partitions": 1.5}),
        "partitions",
        &["integer"],
    );
    assert_rejected(
        json!({"_op": "hash_router", "partitions": 2, "fields": "x"}),
        "fields",
        &["array"],
    );
    Ok(())
}

#[tokio::test]
async fn date_router_routes_by_utc_date_parts() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "date_router", "field": "date"}))?;
    assert_eq!(cfg["resolution"], json!("daily"));
    assert_eq!(cfg["date_delimiter"], json!("."));
    assert_eq!(cfg["date_unit_delimiter"], json!("_"));
    assert_eq!(cfg["include_date_units"], json!(false));
    let date = || vec![rec(json!({"date": "2020-01-15T13:05:00Z"}), json!({}))];
    let cases = [
        (json!({"resolution": "yearly"}), "2020"),
        (json!({"resolution": "monthly"}), "2020.01"),
        (json!({}), "2020.01.15"),
        (
            json!({"resolution": "hourly", "date_delimiter": "-"}),
            "2020-01-15-13",
        ),
        (json!({"resolution": "weekly"}), "2020.02"),
        (json!({"resolution": "weekly_epoch"}), "2610"),
        (
            json!({"include_date_units": true}),
            "year_2020.month_01.day_15",
        ),
        (
            json!({"include_date_units": true, "date_unit_delimiter": "-", "date_delimiter": "/", "resolution": "monthly"}),
            "year-2020/month-01",
        ),
    ];
    for (extra, want) in cases {
        let mut op = json!({"_op": "date_router", "field": "date"});
        if let (Some(o), Value::Object(e)) = (op.as_object_mut(), extra) {
            o.extend(e);
        }
        let out = run(op.clone(), date()).await?;
        assert_eq!(routes(&out), vec![json!(want)], "{op}");
    }
    let ms = run(
        json!({"_op": "date_router", "field": "date"}),
        vec![rec(json!({"date": 1_579_093_500_000_i64}), json!({}))],
    )
    .await?;
    assert_eq!(routes(&ms), vec![json!("2020.01.15")], "epoch ms");
    Ok(())
}

#[tokio::test]
async fn date_router_drops_unparseable_dates_under_log_and_fails_under_throw() -> Result<(), OpError>
{
    let batch = || {
        vec![
            rec(json!({"date": "never"}), json!({})),
            rec(json!({"date": "2021-03-04"}), json!({})),
        ]
    };
    let out = run(
        json!({"_op": "date_router", "field": "date", "_dead_letter_action": "log"}),
        batch(),
    )
    .await?;
    assert_eq!(out.len(), 1, "dropped, not turned into an empty record");
    assert_eq!(routes(&out), vec![json!("2021.03.04")]);
    let failed = run(json!({"_op": "date_router", "field": "date"}), batch()).await;
    assert!(failed.is_err_and(|e| e.message.contains("never")));
    Ok(())
}

#[test]
fn date_router_rejects_bad_config() {
    assert_rejected(json!({"_op": "date_router"}), "field", &["required"]);
    assert_rejected(
        json!({"_op": "date_router", "field": "d", "resolution": "minutely"}),
        "resolution",
        &["hourly", "weekly_epoch", "minutely"],
    );
    assert_rejected(
        json!({"_op": "date_router", "field": "d", "date_delimiter": "+"}),
        "date_delimiter",
        &["\"-\"", "+"],
    );
    assert_rejected(
        json!({"_op": "date_router", "field": "d", "date_unit_delimiter": ":"}),
        "date_unit_delimiter",
        &[":"],
    );
    assert_rejected(
        json!({"_op": "date_router", "field": "d", "use_clock_time": "yes"}),
        "use_clock_time",
        &["true or false"],
    );
}

#[tokio::test]
async fn field_router_joins_field_names_and_values() -> Result<(), OpError> {
    let cfg = validated(json!({"_op": "field_router", "fields": ["a"]}))?;
    assert_eq!(cfg["field_delimiter"], json!("-"));
    assert_eq!(cfg["value_delimiter"], json!("_"));
    assert_eq!(cfg["include_field_names"], json!(true));
    let data = || {
        vec![rec(
            json!({"country": "US", "state": "C=A/x", "tags": [1, 2], "n": null}),
            json!({}),
        )]
    };
    let out = run(
        json!({"_op": "field_router", "fields": ["country", "state"]}),
        data(),
    )
    .await?;
    assert_eq!(
        routes(&out),
        vec![json!("country_US-state_C_A_x")],
        "= and / become _"
    );
    let op = json!({"_op": "field_router", "fields": ["tags", "n", "missing"], "include_field_names": false, "field_delimiter": "+"});
    let out = run(op, data()).await?;
    assert_eq!(
        routes(&out),
        vec![json!("1,2++")],
        "arrays comma-joined, null and missing empty"
    );
    assert_rejected(json!({"_op": "field_router"}), "fields", &["required"]);
    assert_rejected(
        json!({"_op": "field_router", "fields": []}),
        "fields",
        &["non-empty"],
    );
    assert_rejected(
        json!({"_op": "field_router", "fields": ["a"], "field_delimiter": 1}),
        "field_delimiter",
        &["string"],
    );
    Ok(())
}

#[tokio::test]
async fn debug_routes_passes_the_slice_through() -> Result<(), OpError> {
    let batch = vec![
        rec(json!({"a": 1}), json!({"standard:route": "x"})),
        rec(json!({"a": 2}), json!({})),
    ];
    let out = run(json!({"_op": "debug_routes"}), batch.clone()).await?;
    assert_eq!(out, batch);
    Ok(())
}
