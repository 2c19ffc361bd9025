//! `elasticsearch_reader` against a real OpenSearch (teraslice-assets.md §3): slices on fixed data
//! never read a record twice or miss one (auto interval, subslicing, several slicers, fixed
//! intervals), recovery resumes without gaps, and records carry their metadata.
mod ops_es_support;

use std::collections::BTreeSet;

use ops_es_support::{dated_docs, fetch, ms, slices, slices_from, stopped_after, valid, TestIndex};
use serde_json::{json, Value};
use teraslice_core::JobConfig;
use teraslice_runtime::ops::{OpError, SliceRequest};

fn reader_job(index: &str, extra: Value, slicers: u32) -> JobConfig {
    let mut op =
        json!({"_op": "elasticsearch_reader", "index": index, "date_field_name": "created"});
    if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    valid(json!({"name": "read", "slicers": slicers, "operations": [op, {"_op": "noop"}]}))
}

fn count_of(r: &SliceRequest) -> u64 {
    r.get("count").and_then(Value::as_u64).unwrap_or(u64::MAX)
}

/// Fetches every slice; asserts each returns exactly its count; returns all ids read.
async fn read_ids(job: &JobConfig, reqs: &[SliceRequest]) -> Result<Vec<String>, OpError> {
    let batches = fetch(job, reqs).await?;
    let mut ids = Vec::new();
    for (req, batch) in reqs.iter().zip(&batches) {
        assert_eq!(
            batch.len() as u64,
            count_of(req),
            "slice {req} returned {} records",
            batch.len()
        );
        ids.extend(batch.iter().filter_map(|r| r.key().map(str::to_string)));
    }
    Ok(ids)
}

fn assert_exactly_once(ids: &[String], expected: usize) {
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "some record was read twice");
    assert_eq!(ids.len(), expected, "some record was missed");
}

/// 600 docs spread over an hour plus a burst of 400 within 2 seconds: auto interval and splitting.
async fn bursty_index() -> TestIndex {
    let idx = TestIndex::new("reader").await;
    let t0 = ms("2024-05-01T10:00:00Z");
    let mut docs = dated_docs(600, t0, 3_600_000);
    for (i, (id, doc)) in dated_docs(400, t0 + 1_800_000, 2_000)
        .into_iter()
        .enumerate()
    {
        let mut doc = doc;
        doc["n"] = json!(10_000 + i);
        docs.push((format!("burst-{id}"), doc));
    }
    idx.load(&docs).await;
    idx
}

#[tokio::test]
async fn auto_interval_and_subslicing_read_every_record_once() -> Result<(), OpError> {
    let idx = bursty_index().await;
    let job = reader_job(&idx.name, json!({"size": 100}), 1);
    let reqs = slices(&job).await?.concat();
    assert!(
        reqs.len() >= 10,
        "1000 docs at size 100 need at least 10 slices, got {}",
        reqs.len()
    );
    let total: u64 = reqs.iter().map(count_of).sum();
    assert_eq!(total, 1000);
    // The burst is 200 docs per second: with second resolution only a slice ending in it may
    // stay over size (empty time before it is merged into it).
    let burst = (ms("2024-05-01T10:30:00Z"), ms("2024-05-01T10:30:02Z"));
    for r in &reqs {
        let (s, e) = (
            r["start"].as_str().unwrap_or(""),
            r["end"].as_str().unwrap_or(""),
        );
        let in_burst = ms(e) > burst.0 && ms(e) <= burst.1 + 1000;
        assert!(
            count_of(r) <= 100 || in_burst,
            "oversized slice that could be split: {r}"
        );
        assert!(
            s.ends_with(".000Z"),
            "second resolution drops milliseconds: {s}"
        );
    }
    // Slices are contiguous: each starts where the previous ended.
    for w in reqs.windows(2) {
        assert!(ms(w[0]["end"].as_str().unwrap_or("")) <= ms(w[1]["start"].as_str().unwrap_or("")));
    }
    assert_exactly_once(&read_ids(&job, &reqs).await?, 1000);
    Ok(())
}

#[tokio::test]
async fn millisecond_resolution_splits_the_burst_finer() -> Result<(), OpError> {
    let idx = bursty_index().await;
    let job = reader_job(&idx.name, json!({"size": 100, "time_resolution": "ms"}), 1);
    let reqs = slices(&job).await?.concat();
    assert!(
        reqs.iter().all(|r| count_of(r) <= 100),
        "every slice fits size in ms resolution"
    );
    assert_exactly_once(&read_ids(&job, &reqs).await?, 1000);
    Ok(())
}

#[tokio::test]
async fn subslice_by_key_splits_the_dense_second_by_id_prefix() -> Result<(), OpError> {
    let idx = bursty_index().await;
    let extra = json!({"size": 100, "subslice_by_key": true, "subslice_key_threshold": 150, "id_field_name": "key"});
    let job = reader_job(&idx.name, extra, 1);
    let reqs = slices(&job).await?.concat();
    assert!(
        reqs.iter().all(|r| count_of(r) <= 100),
        "key sub-slices bring every slice under size"
    );
    let keyed: Vec<&SliceRequest> = reqs.iter().filter(|r| r.get("keys").is_some()).collect();
    assert!(
        !keyed.is_empty(),
        "the 200-docs-per-second burst is sub-sliced by key"
    );
    assert!(
        keyed
            .iter()
            .all(|r| r.get("start").is_some() && r.get("end").is_some()),
        "sub-slices keep their date range"
    );
    assert_exactly_once(&read_ids(&job, &reqs).await?, 1000);
    Ok(())
}

#[tokio::test]
async fn several_slicers_and_fixed_intervals_cover_the_range() -> Result<(), OpError> {
    let idx = bursty_index().await;
    for extra in [
        json!({"size": 150}),
        json!({"size": 300, "interval": "5m"}),
        json!({"size": 1000, "interval": "1d"}),
    ] {
        let job = reader_job(&idx.name, extra.clone(), 3);
        let per_slicer = slices(&job).await?;
        assert_eq!(per_slicer.len(), 3);
        let reqs = per_slicer.concat();
        assert_eq!(reqs.iter().map(count_of).sum::<u64>(), 1000, "{extra}");
        assert_exactly_once(&read_ids(&job, &reqs).await?, 1000);
    }
    Ok(())
}

#[tokio::test]
async fn start_and_end_bound_the_range_end_exclusive() -> Result<(), OpError> {
    let idx = TestIndex::new("bounds").await;
    let t0 = ms("2024-05-01T00:00:00Z");
    idx.load(&dated_docs(120, t0, 120_000)).await; // one doc per second
    let job = reader_job(
        &idx.name,
        json!({"start": "2024-05-01T00:00:10Z", "end": "2024-05-01T00:00:40Z", "size": 7}),
        1,
    );
    let reqs = slices(&job).await?.concat();
    let ids = read_ids(&job, &reqs).await?;
    assert_exactly_once(&ids, 30);
    Ok(())
}

#[tokio::test]
async fn recovery_resumes_after_the_last_completed_slice_without_gaps() -> Result<(), OpError> {
    let idx = bursty_index().await;
    for slicers in [1usize, 2] {
        let job = reader_job(&idx.name, json!({"size": 100}), slicers as u32);
        let first = slices(&job).await?;
        // Each stream "completed" its first 3 slices before the execution stopped.
        let (done, recovery) = stopped_after(&first, 3);
        let resumed = slices_from(&job, &recovery, 100_000).await?.concat();
        let mut ids = read_ids(&job, &done.concat()).await?;
        ids.extend(read_ids(&job, &resumed).await?);
        assert_exactly_once(&ids, 1000);
    }
    Ok(())
}

#[tokio::test]
async fn query_fields_and_record_metadata() -> Result<(), OpError> {
    let idx = TestIndex::new("meta").await;
    let t0 = ms("2024-05-01T00:00:00Z");
    let docs: Vec<(String, Value)> = dated_docs(50, t0, 50_000)
        .into_iter()
        .map(|(id, mut d)| {
            d["tag"] = json!(if d["n"].as_u64().unwrap_or(0) % 2 == 0 {
                "even"
            } else {
                "odd"
            });
            (id, d)
        })
        .collect();
    idx.load(&docs).await;
    let job = reader_job(
        &idx.name,
        json!({"query": "tag:even", "fields": ["n", "tag"]}),
        1,
    );
    let reqs = slices(&job).await?.concat();
    let records = fetch(&job, &reqs).await?.concat();
    assert_eq!(records.len(), 25);
    let by_id: std::collections::BTreeMap<&str, &Value> =
        docs.iter().map(|(k, d)| (k.as_str(), d)).collect();
    for r in &records {
        let key = r.key().unwrap_or_default();
        let source = by_id.get(key).copied().cloned().unwrap_or_default();
        assert_eq!(
            r.data,
            json!({"n": source["n"], "tag": "even"}),
            "only the asked fields"
        );
        assert_eq!(r.get_metadata("_index"), Some(&json!(idx.name)));
        for k in ["_createTime", "_processTime", "_ingestTime", "_eventTime"] {
            assert!(
                r.get_metadata(k).and_then(Value::as_i64).is_some(),
                "{k} on {:?}",
                r.metadata
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn geo_box_limits_the_records() -> Result<(), OpError> {
    let idx = TestIndex::new("geo").await;
    let t0 = ms("2024-05-01T00:00:00Z");
    let docs: Vec<(String, Value)> = dated_docs(40, t0, 40_000)
        .into_iter()
        .map(|(id, mut d)| {
            let inside = d["n"].as_u64().unwrap_or(0) < 10;
            d["loc"] = if inside {
                json!({"lat": 10.0, "lon": 10.0})
            } else {
                json!({"lat": -40.0, "lon": 100.0})
            };
            (id, d)
        })
        .collect();
    idx.load(&docs).await;
    let job = reader_job(
        &idx.name,
        json!({"geo_field": "loc", "geo_box_top_left": "20,0", "geo_box_bottom_right": "0,20"}),
        1,
    );
    let records = fetch(&job, &slices(&job).await?.concat()).await?.concat();
    assert_eq!(records.len(), 10);
    let job = reader_job(
        &idx.name,
        json!({"geo_field": "loc", "geo_point": "10,10", "geo_distance": "100km"}),
        1,
    );
    let records = fetch(&job, &slices(&job).await?.concat()).await?.concat();
    assert_eq!(records.len(), 10);
    Ok(())
}

#[tokio::test]
async fn empty_or_missing_index() -> Result<(), OpError> {
    let idx = TestIndex::new("empty").await;
    let job = reader_job(&idx.name, json!({}), 2);
    assert!(
        slices(&job).await?.concat().is_empty(),
        "no data: no slices"
    );
    let job = reader_job(&format!("{}-missing", idx.name), json!({}), 1);
    let err = match slices(&job).await {
        Err(e) => e,
        Ok(s) => panic!("a missing index must fail, got {s:?}"),
    };
    assert!(err.message.contains("does not exist"), "{err}");
    Ok(())
}

#[tokio::test]
async fn persistent_reader_reads_the_window_behind_the_delay() -> Result<(), OpError> {
    let idx = TestIndex::new("persist").await;
    let now = chrono::Utc::now().timestamp_millis();
    // 20 docs 33-37 s ago: inside the first window [now-40s, now-30s); 5 docs too recent.
    let mut docs = dated_docs(20, now - 37_000, 4_000);
    docs.extend(
        dated_docs(5, now - 5_000, 1_000)
            .into_iter()
            .map(|(id, d)| (format!("recent-{id}"), d)),
    );
    idx.load(&docs).await;
    let mut job = json!({"name": "p", "lifecycle": "persistent", "operations": [
        {"_op": "elasticsearch_reader", "index": idx.name, "date_field_name": "created", "interval": "10s", "delay": "30s"},
        {"_op": "noop"}]});
    job["slicers"] = json!(1);
    let job = valid(job);
    // One window is ready; the next is not until 10 s later, so the stream answers "nothing now".
    let reqs = slices_from(&job, &[], 50).await?.concat();
    assert_eq!(reqs.iter().map(count_of).sum::<u64>(), 20, "{reqs:?}");
    assert_exactly_once(&read_ids(&job, &reqs).await?, 20);
    Ok(())
}

#[tokio::test]
async fn persistent_reader_moves_on_one_interval_at_a_time_without_gaps() -> Result<(), OpError> {
    let idx = TestIndex::new("persist-next").await;
    let job = valid(
        json!({"name": "p", "lifecycle": "persistent", "slicers": 2, "operations": [
        {"_op": "elasticsearch_reader", "index": idx.name, "date_field_name": "created", "interval": "2s", "delay": "1s"},
        {"_op": "noop"}]}),
    );
    let reader = ops_es_support::registry().reader("elasticsearch_reader")?;
    let mut streams = reader.slicers(&ops_es_support::ctx(&job, 0, None))?;
    let mut windows: Vec<Vec<(i64, i64)>> = vec![Vec::new(); streams.len()];
    for s in streams.iter_mut() {
        s.initialize(None).await?;
    }
    // Polls until every stream has made three slices (persistent `None` = nothing yet); the
    // bound only keeps a broken slicer from hanging the test.
    for _ in 0..100 {
        for (i, s) in streams.iter_mut().enumerate() {
            if let Some(reqs) = s.slice_many().await? {
                for r in reqs {
                    assert_eq!(count_of(&r), 0, "the index is empty: {r}");
                    windows[i].push((
                        ms(r["start"].as_str().unwrap_or("")),
                        ms(r["end"].as_str().unwrap_or("")),
                    ));
                }
            }
        }
        if windows.iter().all(|w| w.len() >= 3) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let now = chrono::Utc::now().timestamp_millis();
    for w in &windows {
        assert!(
            w.len() >= 3,
            "each stream keeps slicing as the clock moves: {windows:?}"
        );
        // Each stream owns one second of every 2 s window: its parts are one interval apart,
        // never ahead of now - delay.
        for pair in w.windows(2) {
            assert_eq!(pair[1].0 - pair[0].0, 2000, "{w:?}");
        }
        assert!(w.iter().all(|(_, end)| *end <= now - 1000), "{w:?}");
    }
    // The two streams' parts of one window meet: together they cover it without a gap.
    assert_eq!(windows[0][0].1, windows[1][0].0, "{windows:?}");
    Ok(())
}

#[tokio::test]
async fn documents_added_after_the_count_are_still_fetched() -> Result<(), OpError> {
    let idx = TestIndex::new("stale").await;
    let t0 = ms("2024-05-01T00:00:00Z");
    idx.load(&dated_docs(40, t0, 40_000)).await;
    let job = reader_job(&idx.name, json!({}), 1);
    // A slice counted 3 documents; 40 are there when it is fetched.
    let stale =
        json!({"start": "2024-05-01T00:00:00.000Z", "end": "2024-05-01T00:01:00.000Z", "count": 3});
    let records = fetch(&job, &[stale]).await?.concat();
    assert_eq!(records.len(), 40);
    Ok(())
}

#[tokio::test]
async fn size_above_max_result_window_is_refused() -> Result<(), OpError> {
    let idx = TestIndex::new("window").await;
    idx.load(&dated_docs(10, ms("2024-05-01T00:00:00Z"), 10_000))
        .await;
    let settings = json!({"index": {"max_result_window": 50}});
    ops_es_support::call(
        reqwest::Method::PUT,
        &format!("{}/_settings", idx.name),
        Some(settings),
    )
    .await;
    let job = reader_job(&idx.name, json!({"size": 100}), 1);
    let err = match slices(&job).await {
        Err(e) => e,
        Ok(s) => panic!("size 100 > window 50 must fail, got {s:?}"),
    };
    assert!(
        err.message
            .contains("larger than index.max_result_window 50"),
        "{err}"
    );
    let job = reader_job(&idx.name, json!({"size": 50}), 1);
    assert_eq!(
        fetch(&job, &slices(&job).await?.concat())
            .await?
            .concat()
            .len(),
        10
    );
    Ok(())
}
