//! `data_generator`: the record shape of teraslice-assets.md §1.2 field by field, the slice-size
//! rule and counts (§1.3), stress_test, seeding, and every bad config value named.
mod ops_support;

use chrono::{DateTime, Utc};
use ops_support::{errors, fetch_all, slices, validate};
use serde_json::{json, Value};
use teraslice_runtime::ops::{OpError, Record, SlicerRecoveryData};

fn job(op: Value, last: Value) -> Value {
    json!({"name": "gen", "operations": [op, last]})
}

async fn records(op: Value) -> Result<Vec<Record>, OpError> {
    let job =
        validate(job(op, json!({"_op": "noop"}))).map_err(|e| OpError::new(format!("{e:?}")))?;
    let reqs = slices(&job, 10).await?;
    Ok(fetch_all(&job, &reqs).await?.concat())
}

fn s<'a>(r: &'a Record, key: &str) -> &'a str {
    r.data.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn is_ipv4(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok())
}

fn is_ipv6(v: &str) -> bool {
    let groups: Vec<&str> = v.split(':').collect();
    groups.len() == 8
        && groups.iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

fn five_decimals(v: &str, bound: f64) -> bool {
    let frac = v.split_once('.').map(|(_, f)| f.len());
    frac == Some(5)
        && v.parse::<f64>()
            .is_ok_and(|x| (-bound..=bound).contains(&x))
}

#[tokio::test]
async fn every_field_has_the_documented_shape() -> Result<(), OpError> {
    let recs = records(json!({
        "_op": "data_generator", "size": 400, "seed": 7, "format": "utcBetween",
        "start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z", "set_id": "hexadecimal"
    }))
    .await?;
    assert_eq!(recs.len(), 400);
    let (start, end) = ("2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z");
    let (mut v4, mut v6, mut slash) = (0, 0, 0);
    for r in &recs {
        // Teraslice's key order; `set_id` adds `id` last.
        let keys: Vec<&str> = r
            .data
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "ip",
                "userAgent",
                "url",
                "uuid",
                "created",
                "ipv6",
                "location",
                "bytes",
                "id"
            ]
        );
        let ip = s(r, "ip");
        assert!(is_ipv4(ip) || is_ipv6(ip), "ip {ip}");
        v4 += usize::from(is_ipv4(ip));
        v6 += usize::from(is_ipv6(ip));
        assert!(
            s(r, "userAgent").starts_with("Mozilla/5.0 ("),
            "{}",
            s(r, "userAgent")
        );
        let url = s(r, "url");
        let host = url.strip_prefix("https://").unwrap_or_default();
        slash += usize::from(host.ends_with('/'));
        let (word, tld) = host
            .trim_end_matches('/')
            .split_once('.')
            .unwrap_or_default();
        assert!(
            !word.is_empty() && !tld.is_empty() && !tld.contains('/'),
            "url {url}"
        );
        let uuid = uuid::Uuid::parse_str(s(r, "uuid")).map_err(|e| OpError::new(e.to_string()))?;
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(s(r, "uuid"), s(r, "uuid").to_lowercase());
        let created = s(r, "created");
        assert!(
            created.len() == 24 && created.ends_with('Z'),
            "toISOString form: {created}"
        );
        assert!((start..end).contains(&created), "{created} in [start, end)");
        assert!(is_ipv6(s(r, "ipv6")), "ipv6 {}", s(r, "ipv6"));
        let (lat, lon) = s(r, "location").split_once(", ").unwrap_or_default();
        assert!(
            five_decimals(lat, 90.0) && five_decimals(lon, 180.0),
            "{}",
            s(r, "location")
        );
        let bytes = r.data["bytes"].as_u64().unwrap_or_default();
        assert!((7850..=5_642_867).contains(&bytes), "bytes {bytes}");
        let id = s(r, "id");
        assert!(
            id.len() == 8
                && id
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "id {id}"
        );
        assert!(r.key().is_none(), "set_id fills the body only, not _key");
    }
    assert!(v4 > 0 && v6 > 0, "ip is IPv4 or IPv6 (got {v4} / {v6})");
    assert!(
        slash > 0 && slash < recs.len(),
        "trailing slash is optional"
    );
    Ok(())
}

#[tokio::test]
async fn date_formats_and_date_key() -> Result<(), OpError> {
    let before = Utc::now();
    let now_recs = records(json!({"_op": "data_generator", "size": 5})).await?;
    let utc_recs =
        records(json!({"_op": "data_generator", "size": 5, "format": "utcDate", "date_key": "ts"}))
            .await?;
    let after = Utc::now();
    for r in &now_recs {
        let d = DateTime::parse_from_str(s(r, "created"), "%Y-%m-%dT%H:%M:%S%.3f%:z")
            .map_err(|e| OpError::new(format!("{}: {e}", s(r, "created"))))?;
        assert!(
            d >= before - chrono::Duration::milliseconds(1) && d <= after,
            "dateNow is the current time"
        );
    }
    for r in &utc_recs {
        assert!(r.data.get("created").is_none(), "date_key replaces created");
        let keys: Vec<&str> = r
            .data
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys.last(), Some(&"ts"), "a renamed date goes after bytes");
        let d: DateTime<Utc> = s(r, "ts")
            .parse()
            .map_err(|e| OpError::new(format!("{e}")))?;
        assert!(
            s(r, "ts").ends_with('Z')
                && d >= before - chrono::Duration::milliseconds(1)
                && d <= after
        );
    }
    let iso = records(json!({"_op": "data_generator", "size": 20, "format": "isoBetween", "start": 0, "end": 86_400_000})).await?;
    for r in &iso {
        let d = DateTime::parse_from_str(s(r, "created"), "%Y-%m-%dT%H:%M:%S%.3f%:z")
            .map_err(|e| OpError::new(format!("{}: {e}", s(r, "created"))))?;
        assert!(d.timestamp_millis() >= 0 && d.timestamp_millis() < 86_400_000);
    }
    Ok(())
}

#[tokio::test]
async fn set_id_patterns_and_id_start_key() -> Result<(), OpError> {
    let upper = records(json!({"_op": "data_generator", "size": 50, "set_id": "HEXADECIMAL", "id_start_key": "[ab]"})).await?;
    for r in &upper {
        let id = s(r, "id");
        assert_eq!(id.len(), 9, "{id}");
        assert!(id.starts_with('a') || id.starts_with('b'), "{id}");
        assert!(
            id[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
            "{id}"
        );
    }
    let b64 =
        records(json!({"_op": "data_generator", "size": 50, "set_id": "base64url", "seed": 3}))
            .await?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for r in &b64 {
        let id = s(r, "id");
        let first = id.chars().next().unwrap_or(' ');
        assert!(
            id.len() == 9 && (word(first) || first == '-') && first != '0',
            "{id}"
        );
        assert!(id[1..].chars().all(word), "{id}");
    }
    assert!(
        b64.iter().any(|r| &s(r, "id")[1..] != "wwwwwwww"),
        "fixed: not Teraslice's literal w's"
    );
    Ok(())
}

#[tokio::test]
async fn stress_test_repeats_one_record_and_seed_is_reproducible() -> Result<(), OpError> {
    let recs = records(json!({"_op": "data_generator", "size": 30, "stress_test": true})).await?;
    assert_eq!(recs.len(), 30);
    assert!(recs.iter().all(|r| r.data == recs[0].data));
    let op = json!({"_op": "data_generator", "size": 30, "seed": 42, "format": "utcBetween", "end": "2021-01-01T00:00:00Z"});
    let (a, b) = (records(op.clone()).await?, records(op).await?);
    let data = |v: &[Record]| v.iter().map(|r| r.data.clone()).collect::<Vec<_>>();
    assert_eq!(data(&a), data(&b));
    assert_ne!(a[0].data, a[1].data);
    Ok(())
}

fn counts(reqs: &[Value]) -> Vec<(u64, u64)> {
    reqs.iter()
        .map(|r| {
            (
                r["count"].as_u64().unwrap_or(0),
                r["processed"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test]
async fn once_slices_use_the_last_ops_size() -> Result<(), OpError> {
    let gen = json!({"_op": "data_generator", "size": 12});
    let bad = |e| OpError::new(format!("{e:?}"));
    let by_last = validate(job(gen.clone(), json!({"_op": "collect", "size": 5}))).map_err(bad)?;
    assert_eq!(
        counts(&slices(&by_last, 100).await?),
        [(5, 5), (5, 10), (2, 12)]
    );
    let own = validate(job(gen.clone(), json!({"_op": "noop"}))).map_err(bad)?;
    assert_eq!(
        counts(&slices(&own, 100).await?),
        [(12, 12)],
        "-> noop makes one slice"
    );
    let fetched = fetch_all(&by_last, &slices(&by_last, 100).await?).await?;
    assert_eq!(fetched.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
    // The api named by the last op's _api_name, not the first api entry (Teraslice's bug).
    let by_api = validate(json!({
        "name": "gen",
        "apis": [
            {"_name": "file_sender_api:a", "path": "/tmp/unused-a", "size": 3},
            {"_name": "file_sender_api:b", "path": "/tmp/unused-b", "size": 7}
        ],
        "operations": [gen, {"_op": "file_exporter", "_api_name": "file_sender_api:b"}]
    }))
    .map_err(bad)?;
    assert_eq!(counts(&slices(&by_api, 100).await?), [(7, 7), (5, 12)]);
    Ok(())
}

#[tokio::test]
async fn persistent_slices_never_end_and_recovery_resumes() -> Result<(), OpError> {
    let bad = |e| OpError::new(format!("{e:?}"));
    let mut j = job(
        json!({"_op": "data_generator", "size": 4}),
        json!({"_op": "noop"}),
    );
    j["lifecycle"] = json!("persistent");
    let persistent = validate(j).map_err(bad)?;
    let got = counts(&slices(&persistent, 50).await?);
    assert_eq!(got.len(), 50);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, c)| *c == (4, 4 * (i as u64 + 1))));

    let once = validate(job(
        json!({"_op": "data_generator", "size": 12}),
        json!({"_op": "collect", "size": 5}),
    ))
    .map_err(bad)?;
    let reader = ops_support::registry().reader("data_generator")?;
    let mut slicer = reader.slicers(&ops_support::ctx(&once, 0, None))?.remove(0);
    assert!(slicer.is_recoverable());
    let recovery = SlicerRecoveryData {
        slicer_id: 0,
        last_slice: Some(json!({"count": 5, "processed": 10})),
    };
    slicer.initialize(Some(&recovery)).await?;
    assert_eq!(
        slicer.slice().await?,
        Some(json!({"count": 2, "processed": 12}))
    );
    assert_eq!(slicer.slice().await?, None);
    Ok(())
}

#[test]
fn every_bad_value_is_named() {
    let cases = [
        (json!({"size": 0}), "size", "must be an integer >= 1, got 0"),
        (
            json!({"size": "lots"}),
            "size",
            "must be an integer >= 1, got \"lots\"",
        ),
        (
            json!({"format": "epoch"}),
            "format",
            "must be one of dateNow, isoBetween, utcDate, utcBetween, got \"epoch\"",
        ),
        (json!({"start": "tomorrow"}), "start", "must be a date"),
        (json!({"end": true}), "end", "must be a date"),
        (
            json!({"start": "2020-02-01", "end": "2020-01-01"}),
            "start",
            "start must be before end",
        ),
        (
            json!({"stress_test": "yes"}),
            "stress_test",
            "must be true or false, got \"yes\"",
        ),
        (
            json!({"delay": -1}),
            "delay",
            "must be a number of seconds >= 0, got -1",
        ),
        (
            json!({"stress_test": true, "delay": 2}),
            "delay",
            "must be 0 when stress_test is true",
        ),
        (
            json!({"date_key": ""}),
            "date_key",
            "must be a non-empty string",
        ),
        (
            json!({"set_id": "uuid"}),
            "set_id",
            "must be one of base64url, hexadecimal, HEXADECIMAL, got \"uuid\"",
        ),
        (
            json!({"id_start_key": "a"}),
            "id_start_key",
            "requires set_id",
        ),
        (
            json!({"set_id": "hexadecimal", "id_start_key": "(a|b)"}),
            "id_start_key",
            "unsupported regex syntax \"(\"",
        ),
        (
            json!({"json_schema": "/schemas/x.js"}),
            "json_schema",
            "is not supported",
        ),
        (
            json!({"seed": -1}),
            "seed",
            "must be an integer >= 0, got -1",
        ),
    ];
    for (extra, path, message) in cases {
        let mut op = json!({"_op": "data_generator"});
        if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        let errs = errors(job(op, json!({"_op": "noop"})));
        assert_eq!(errs.len(), 1, "{extra}: {errs:?}");
        assert_eq!(errs[0].path, format!("operations[0].{path}"), "{extra}");
        assert!(
            errs[0].message.contains(message),
            "{extra}: {}",
            errs[0].message
        );
    }
}

#[test]
fn validation_fills_teraslice_defaults_and_normalises_dates() -> Result<(), String> {
    let j = validate(job(
        json!({"_op": "data_generator", "start": 0}),
        json!({"_op": "noop"}),
    ))
    .map_err(|e| format!("{e:?}"))?;
    let op = &j.operations[0];
    assert_eq!(op.get("size"), Some(&json!(5000)));
    assert_eq!(op.get("start"), Some(&json!("1970-01-01T00:00:00.000Z")));
    assert_eq!(op.get("date_key"), Some(&json!("created")));
    assert_eq!(op.get("stress_test"), Some(&json!(false)));
    assert_eq!(op.get("delay"), Some(&json!(0)));
    Ok(())
}

#[test]
fn an_empty_or_null_json_schema_means_the_default_records() -> Result<(), String> {
    for schema in [json!(""), json!(null)] {
        validate(job(
            json!({"_op": "data_generator", "json_schema": schema}),
            json!({"_op": "noop"}),
        ))
        .map_err(|e| format!("json_schema {schema}: {e:?}"))?;
    }
    Ok(())
}
