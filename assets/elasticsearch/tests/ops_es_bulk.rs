//! `elasticsearch_bulk` against a real OpenSearch (teraslice-assets.md §5): each action, batching
//! by `size`, `_delete_id`, scripts, and per-item errors (ignored, failing the slice, or sent to
//! `_dead_letter_action`).
mod ops_es_support;

use ops_es_support::{process, valid, TestIndex};
use serde_json::{json, Value};
use teraslice_core::JobConfig;
use teraslice_runtime::ops::{OpError, Record};

fn bulk_job(index: &str, extra: Value) -> JobConfig {
    let mut op = json!({"_op": "elasticsearch_bulk", "index": index});
    if let (Some(o), Some(e)) = (op.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    valid(json!({"name": "bulk", "operations": [{"_op": "data_generator"}, op]}))
}

fn rec(id: &str, data: Value) -> Record {
    Record::with_key(data, id)
}

async fn send(index: &str, extra: Value, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
    process(&bulk_job(index, extra), 1, batch).await
}

#[tokio::test]
async fn index_in_batches_then_create_update_upsert_delete() -> Result<(), OpError> {
    let idx = TestIndex::new("bulk").await;
    let batch: Vec<Record> = (0..25)
        .map(|i| rec(&format!("d{i:02}"), json!({"n": i, "tag": "a"})))
        .collect();
    // size 4: seven requests sent together; the op passes its input on unchanged.
    let out = send(&idx.name, json!({"size": 4}), batch.clone()).await?;
    assert_eq!(out, batch);
    assert_eq!(idx.count().await, 25);
    // create: existing documents are left alone (not an error), new ones are written.
    send(
        &idx.name,
        json!({"create": true}),
        vec![rec("d00", json!({"n": -1})), rec("new", json!({"n": 99}))],
    )
    .await?;
    let docs = idx.docs().await;
    assert_eq!(
        docs.iter().find(|(k, _)| k == "d00").map(|d| d.1.clone()),
        Some(json!({"n": 0, "tag": "a"}))
    );
    assert_eq!(docs.len(), 26);
    // update with update_fields: a partial doc; a missing document is not an error.
    send(
        &idx.name,
        json!({"update": true, "update_fields": ["tag"]}),
        vec![
            rec("d01", json!({"n": 1000, "tag": "b"})),
            rec("nope", json!({"tag": "x"})),
        ],
    )
    .await?;
    // upsert: updates d02, creates up1 from the whole record.
    send(
        &idx.name,
        json!({"upsert": true}),
        vec![rec("d02", json!({"tag": "c"})), rec("up1", json!({"n": 5}))],
    )
    .await?;
    // script with params, falsy values included.
    send(&idx.name, json!({"update": true, "script": "ctx._source.n = params.v", "script_params": {"v": "value"}}), vec![rec("d03", json!({"value": 0}))]).await?;
    // delete
    send(
        &idx.name,
        json!({"delete": true}),
        vec![rec("d04", json!({})), rec("missing", json!({}))],
    )
    .await?;
    let docs: std::collections::BTreeMap<String, Value> = idx.docs().await.into_iter().collect();
    assert_eq!(docs.get("d01"), Some(&json!({"n": 1, "tag": "b"})));
    assert_eq!(docs.get("nope"), None);
    assert_eq!(docs.get("d02"), Some(&json!({"n": 2, "tag": "c"})));
    assert_eq!(docs.get("up1"), Some(&json!({"n": 5})));
    assert_eq!(docs.get("d03"), Some(&json!({"n": 0, "tag": "a"})));
    assert_eq!(docs.get("d04"), None);
    assert_eq!(docs.len(), 26);
    Ok(())
}

#[tokio::test]
async fn delete_id_metadata_rekeys_in_one_pass_and_keyless_records_get_generated_ids(
) -> Result<(), OpError> {
    let idx = TestIndex::new("rekey").await;
    send(&idx.name, json!({}), vec![rec("old", json!({"n": 1}))]).await?;
    let mut moved = rec("new", json!({"n": 1}));
    moved.set_metadata("_delete_id", json!("old"));
    send(
        &idx.name,
        json!({}),
        vec![moved, Record::new(json!({"n": 2}))],
    )
    .await?;
    let docs = idx.docs().await;
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().any(|(k, _)| k == "new") && !docs.iter().any(|(k, _)| k == "old"));
    Ok(())
}

#[tokio::test]
async fn a_refused_document_fails_the_slice_or_goes_to_the_dead_letter_action(
) -> Result<(), OpError> {
    let idx = TestIndex::new("errors").await;
    // `n` is mapped as long: a string there is refused with mapper_parsing_exception.
    let batch = || {
        vec![
            rec("ok1", json!({"n": 1})),
            rec("bad", json!({"n": "not a number"})),
            rec("ok2", json!({"n": 2})),
        ]
    };
    let err = match send(&idx.name, json!({}), batch()).await {
        Err(e) => e,
        Ok(_) => panic!("a refused document must fail the slice"),
    };
    assert!(
        err.message
            .starts_with("bulk send error: mapper_parsing_exception--"),
        "{err}"
    );
    assert!(!err.retryable, "retrying cannot fix a refused document");
    let idx2 = TestIndex::new("errors-dl").await;
    let out = send(&idx2.name, json!({"_dead_letter_action": "none"}), batch()).await?;
    assert_eq!(out.len(), 3);
    let ids: Vec<String> = idx2.docs().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(ids, ["ok1", "ok2"], "only the refused document is dropped");
    Ok(())
}

#[tokio::test]
async fn current_layout_sender_api_and_op_overrides() -> Result<(), OpError> {
    let idx = TestIndex::new("api").await;
    let job = valid(json!({
        "name": "bulk",
        "apis": [{"_name": "elasticsearch_sender_api", "index": "not-used-because-overridden", "size": 2}],
        "operations": [{"_op": "data_generator"}, {"_op": "elasticsearch_bulk", "_api_name": "elasticsearch_sender_api", "index": idx.name}]
    }));
    let batch: Vec<Record> = (0..5)
        .map(|i| rec(&format!("k{i}"), json!({"n": i})))
        .collect();
    process(&job, 1, batch).await?;
    assert_eq!(idx.count().await, 5);
    Ok(())
}
