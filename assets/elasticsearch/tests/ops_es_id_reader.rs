//! `id_reader` against a real OpenSearch (teraslice-assets.md §4.1): key-prefix slices cover
//! every id exactly once, with one or several slicers, a key_range, a starting depth, and after
//! a recovery.
mod ops_es_support;

use std::collections::BTreeSet;

use ops_es_support::{dated_docs, fetch, ms, slices, slices_from, stopped_after, valid, TestIndex};
use serde_json::{json, Value};
use teraslice_core::JobConfig;
use teraslice_runtime::ops::{OpError, SliceRequest};

fn id_job(index: &str, extra: Value, slicers: u32) -> JobConfig {
    let mut op = json!({"_op": "id_reader", "index": index, "id_field_name": "key"});
    if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    valid(json!({"name": "ids", "slicers": slicers, "operations": [op, {"_op": "noop"}]}))
}

async fn ids_of(job: &JobConfig, reqs: &[SliceRequest]) -> Result<Vec<String>, OpError> {
    let batches = fetch(job, reqs).await?;
    for (r, b) in reqs.iter().zip(&batches) {
        assert_eq!(Some(b.len() as u64), r["count"].as_u64(), "{r}");
    }
    Ok(batches
        .concat()
        .iter()
        .filter_map(|r| r.key().map(str::to_string))
        .collect())
}

fn exactly_once(ids: &[String], expected: usize) {
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an id was read twice");
    assert_eq!(ids.len(), expected, "an id was missed");
}

async fn index_of(n: usize) -> TestIndex {
    let idx = TestIndex::new("ids").await;
    idx.load(&dated_docs(n, ms("2024-01-01T00:00:00Z"), 86_400_000))
        .await;
    idx
}

#[tokio::test]
async fn every_id_is_read_exactly_once() -> Result<(), OpError> {
    let idx = index_of(800).await;
    for (slicers, extra) in [
        (1, json!({"size": 40})),
        (3, json!({"size": 40})),
        (2, json!({"size": 500, "starting_key_depth": 2})),
    ] {
        let job = id_job(&idx.name, extra.clone(), slicers);
        let reqs = slices(&job).await?.concat();
        for r in &reqs {
            let count = r["count"].as_u64().unwrap_or(u64::MAX);
            assert!(
                count >= 1
                    && count
                        <= job.operations[0]
                            .get("size")
                            .and_then(Value::as_u64)
                            .unwrap_or(0),
                "{r}"
            );
            assert_eq!(r["keys"].as_array().map(Vec::len), Some(1), "{r}");
        }
        exactly_once(&ids_of(&job, &reqs).await?, 800);
        if extra.get("starting_key_depth").is_some() {
            assert!(
                reqs.iter()
                    .all(|r| r["keys"][0].as_str().is_some_and(|k| k.len() >= 2)),
                "depth 2 starts at 2-char prefixes"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn key_range_restricts_the_roots() -> Result<(), OpError> {
    let idx = index_of(600).await;
    let job = id_job(
        &idx.name,
        json!({"size": 100, "key_range": ["A", "B", "C"]}),
        2,
    );
    let ids = ids_of(&job, &slices(&job).await?.concat()).await?;
    let expected = dated_docs(600, 0, 1)
        .into_iter()
        .filter(|(id, _)| id.starts_with(['A', 'B', 'C']))
        .count();
    assert!(expected > 0);
    exactly_once(&ids, expected);
    assert!(ids.iter().all(|id| id.starts_with(['A', 'B', 'C'])));
    Ok(())
}

#[tokio::test]
async fn recovery_resumes_after_the_last_key_without_gaps() -> Result<(), OpError> {
    let idx = index_of(1000).await;
    let job = id_job(&idx.name, json!({"size": 30}), 2);
    let first = slices(&job).await?;
    let (done, recovery) = stopped_after(&first, 5);
    let resumed = slices_from(&job, &recovery, 100_000).await?.concat();
    let mut ids = ids_of(&job, &done.concat()).await?;
    ids.extend(ids_of(&job, &resumed).await?);
    exactly_once(&ids, 1000);
    Ok(())
}

#[tokio::test]
async fn current_layout_with_a_tagged_api_reads_the_same() -> Result<(), OpError> {
    let idx = index_of(300).await;
    let job = valid(json!({
        "name": "ids", "slicers": 2,
        "apis": [{"_name": "elasticsearch_reader_api:ids", "index": idx.name, "id_field_name": "key", "size": 50}],
        "operations": [{"_op": "id_reader", "_api_name": "elasticsearch_reader_api:ids"}, {"_op": "noop"}]
    }));
    exactly_once(&ids_of(&job, &slices(&job).await?.concat()).await?, 300);
    Ok(())
}
