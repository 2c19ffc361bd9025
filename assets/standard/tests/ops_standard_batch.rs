//! Slice-wide transforms (teraslice-assets.md §6): `filter`, `dedupe`, `sort` — defaults,
//! rejected values, and what they keep and in which order.
mod ops_standard_support;

use ops_standard_support::{assert_rejected, rec, run, run_data, validated};
use serde_json::{json, Value};
use teraslice_runtime::ops::OpError;

fn op(base: Value, extra: Value) -> Value {
    let mut o = base;
    if let (Some(m), Value::Object(e)) = (o.as_object_mut(), extra) {
        m.extend(e);
    }
    o
}

fn filter(extra: Value) -> Value {
    op(json!({"_op": "filter"}), extra)
}

#[tokio::test]
async fn filter_drops_matches_by_default_and_keeps_only_them_inverted() -> Result<(), OpError> {
    let cfg = validated(filter(json!({"field": "a", "value": 1})))?;
    for (k, v) in [
        ("filter_by", json!("match")),
        ("invert", json!(false)),
        ("array_index", json!(-1)),
        ("filtered_to_dead_letter_queue", json!(false)),
    ] {
        assert_eq!(cfg[k], v, "default of {k}");
    }
    let data = || {
        vec![
            json!({"a": 1}),
            json!({"a": "1"}),
            json!({"a": 2}),
            json!({"b": 1}),
        ]
    };
    let out = run_data(filter(json!({"field": "a", "value": 1})), data()).await?;
    assert_eq!(
        out,
        vec![json!({"a": "1"}), json!({"a": 2}), json!({"b": 1})],
        "strict equality"
    );
    let out = run_data(
        filter(json!({"field": ["a", "b"], "value": [1, 2], "invert": true})),
        data(),
    )
    .await?;
    assert_eq!(
        out,
        vec![json!({"a": 1}), json!({"a": 2}), json!({"b": 1})],
        "any field vs any value"
    );
    let out = run_data(
        filter(json!({"field": "list", "value": "x", "array_index": 1})),
        vec![json!({"list": ["x", "y"]}), json!({"list": ["y", "x"]})],
    )
    .await?;
    assert_eq!(out, vec![json!({"list": ["x", "y"]})]);
    Ok(())
}

#[tokio::test]
async fn filter_by_regex_ip_range_validator_and_size() -> Result<(), OpError> {
    let data = vec![json!({"f": "Hello"}), json!({"f": "world"})];
    let out = run_data(
        filter(json!({"field": "f", "value": "/^hello/i", "filter_by": "regex"})),
        data,
    )
    .await?;
    assert_eq!(out, vec![json!({"f": "world"})]);
    let ips = vec![
        json!({"ip": "10.1.2.3"}),
        json!({"ip": "192.168.0.1"}),
        json!({"ip": "fd00::1"}),
        json!({"ip": "nope"}),
    ];
    let out = run_data(
        filter(
            json!({"field": "ip", "value": ["10.0.0.0/8", "fd00::/8"], "filter_by": "ip_range"}),
        ),
        ips,
    )
    .await?;
    assert_eq!(
        out,
        vec![json!({"ip": "192.168.0.1"}), json!({"ip": "nope"})]
    );
    let nums = vec![json!({"n": 5}), json!({"n": "5"}), json!({"n": 50})];
    let v = filter(
        json!({"field": "n", "filter_by": "validator", "validation_function": "inNumberRange", "validation_function_args": {"min": 0, "max": 10}, "invert": true}),
    );
    assert_eq!(run_data(v, nums).await?, vec![json!({"n": 5})]);
    // Size: strings count 2 bytes a character; `doc` is the whole record.
    let docs = vec![json!({"s": "abcd"}), json!({"s": "ab"})];
    assert_eq!(
        run_data(
            filter(json!({"field": "s", "filter_by": "size", "value": 6})),
            docs.clone()
        )
        .await?,
        vec![json!({"s": "ab"})]
    );
    assert_eq!(
        run_data(
            filter(json!({"field": "doc", "filter_by": "size", "value": 5})),
            docs
        )
        .await?,
        Vec::<Value>::new()
    );
    Ok(())
}

#[tokio::test]
async fn filter_exception_rules_keep_records_and_dropped_ones_can_be_rejected(
) -> Result<(), OpError> {
    let data = vec![
        json!({"a": 1, "vip": true}),
        json!({"a": 1, "name": "bob-x"}),
        json!({"a": 1}),
    ];
    let rules = json!([{"field": "vip", "value": true}, {"field": "name", "value": "/^bob/", "regex": true}]);
    let out = run_data(
        filter(json!({"field": "a", "value": 1, "exception_rules": rules})),
        data.clone(),
    )
    .await?;
    assert_eq!(out, data[..2].to_vec());
    let dlq = filter(json!({"field": "a", "value": 1, "filtered_to_dead_letter_queue": true}));
    let failed = run_data(dlq, data).await;
    assert!(
        failed.is_err_and(|e| e.message.contains("filtered")),
        "rejected under the default throw"
    );
    Ok(())
}

#[test]
fn filter_rejects_bad_config() {
    assert_rejected(filter(json!({})), "field", &["required"]);
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "like"})),
        "filter_by",
        &["match, regex, ip_range, validator, size", "like"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "regex", "value": "/(/"})),
        "value",
        &["/(/", "regex"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "regex", "value": "/a/q"})),
        "value",
        &["flag", "q"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "regex", "value": 3})),
        "value",
        &["string", "3"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "ip_range", "value": "10.0.0.0/40"})),
        "value",
        &["prefix length", "0 to 32"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "ip_range", "value": "ten"})),
        "value",
        &["ten", "CIDR"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "size"})),
        "value",
        &["number of bytes"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "validator"})),
        "validation_function",
        &["isBoolean"],
    );
    assert_rejected(
        filter(json!({"field": "a", "filter_by": "validator", "validation_function": "isFoo"})),
        "validation_function",
        &["isFoo"],
    );
    assert_rejected(
        filter(json!({"field": "a", "array_index": -2})),
        "array_index",
        &["at least -1"],
    );
    assert_rejected(
        filter(json!({"field": "a", "exception_rules": [{"value": 1}]})),
        "exception_rules[0]",
        &["field"],
    );
    assert_rejected(
        filter(
            json!({"field": "a", "exception_rules": [{"field": "b", "value": 1, "regex": true}]}),
        ),
        "exception_rules[0].value",
        &["/pattern/flags"],
    );
    assert_rejected(
        filter(json!({"field": "a", "exception_rules": "x"})),
        "exception_rules",
        &["array"],
    );
}

#[tokio::test]
async fn dedupe_keeps_the_first_of_each_key_and_adjusts_times() -> Result<(), OpError> {
    assert_eq!(
        validated(json!({"_op": "dedupe"}))?["adjust_time"],
        json!([])
    );
    let batch = || {
        vec![
            rec(
                json!({"n": 1, "first": "2020-01-05T00:00:00Z", "last": "2020-01-05T00:00:00Z"}),
                json!({"_key": "a"}),
            ),
            rec(json!({"n": 2}), json!({"_key": "b"})),
            rec(
                json!({"n": 3, "first": "2020-01-01T00:00:00Z", "last": "2020-01-09T00:00:00Z"}),
                json!({"_key": "a"}),
            ),
            rec(
                json!({"n": 4, "first": "bad", "last": 1_000}),
                json!({"_key": "a"}),
            ),
        ]
    };
    let out = run(json!({"_op": "dedupe"}), batch()).await?;
    assert_eq!(
        out.iter().map(|r| r.data["n"].clone()).collect::<Vec<_>>(),
        vec![json!(1), json!(2)]
    );
    assert_eq!(
        out[0].data["first"],
        json!("2020-01-05T00:00:00Z"),
        "no adjust_time: untouched"
    );
    let adjust = json!({"_op": "dedupe", "adjust_time": [{"field": "first", "preference": "oldest"}, {"field": "last", "preference": "newest"}]});
    let out = run(adjust, batch()).await?;
    assert_eq!(out[0].data["first"], json!("2020-01-01T00:00:00Z"));
    assert_eq!(out[0].data["last"], json!("2020-01-09T00:00:00Z"));
    let by_field = run(
        json!({"_op": "dedupe", "field": "v"}),
        vec![
            rec(json!({"v": 1}), json!({})),
            rec(json!({"v": "1"}), json!({})),
            rec(json!({"v": 1}), json!({})),
        ],
    )
    .await?;
    assert_eq!(by_field.len(), 2, "1 and \"1\" differ");
    let no_key = run(json!({"_op": "dedupe"}), vec![rec(json!({}), json!({}))]).await;
    assert!(no_key.is_err_and(|e| e.message.contains("_key")));
    Ok(())
}

#[test]
fn dedupe_rejects_bad_config() {
    assert_rejected(json!({"_op": "dedupe", "field": 1}), "field", &["string"]);
    assert_rejected(
        json!({"_op": "dedupe", "adjust_time": {}}),
        "adjust_time",
        &["array"],
    );
    assert_rejected(
        json!({"_op": "dedupe", "adjust_time": [{"field": "t", "preference": "latest"}]}),
        "adjust_time[0]",
        &["oldest", "newest"],
    );
}

#[tokio::test]
async fn sort_is_stable_by_path_in_either_order() -> Result<(), OpError> {
    assert_eq!(
        validated(json!({"_op": "sort", "field": "a"}))?["order"],
        json!("asc")
    );
    let data = vec![
        json!({"k": {"v": 3}, "i": 0}),
        json!({"k": {"v": 1}, "i": 1}),
        json!({"k": {"v": 3}, "i": 2}),
        json!({"i": 3}),
        json!({"k": {"v": 2}, "i": 4}),
    ];
    let ids = |v: Vec<Value>| v.iter().map(|d| d["i"].clone()).collect::<Vec<_>>();
    let asc = run_data(json!({"_op": "sort", "field": "k.v"}), data.clone()).await?;
    assert_eq!(
        ids(asc),
        vec![json!(1), json!(4), json!(0), json!(2), json!(3)]
    );
    let desc = run_data(
        json!({"_op": "sort", "field": "k.v", "order": "desc"}),
        data,
    )
    .await?;
    assert_eq!(
        ids(desc),
        vec![json!(3), json!(0), json!(2), json!(4), json!(1)]
    );
    let words = run_data(
        json!({"_op": "sort", "field": "w"}),
        vec![json!({"w": "b"}), json!({"w": "B"}), json!({"w": "a"})],
    )
    .await?;
    assert_eq!(
        words,
        vec![json!({"w": "B"}), json!({"w": "a"}), json!({"w": "b"})],
        "code-unit order"
    );
    assert_rejected(json!({"_op": "sort"}), "field", &["required"]);
    assert_rejected(
        json!({"_op": "sort", "field": "a", "order": "up"}),
        "order",
        &["asc, desc", "up"],
    );
    Ok(())
}
