//! `routed_sender` (teraslice-assets.md §2.3): records go where their `standard:route` says —
//! through `file_sender_api` (a sub-directory per route) or a sender api named in `routing` —
//! with `*` / `**` catch-alls, rejections through `_dead_letter_action`, and config errors that
//! name the field.
mod ops_standard_support;

use std::path::Path;

use ops_standard_support::{job_with_apis, op_errors_with_apis, rec, run_job};
use serde_json::{json, Value};
use teraslice_runtime::ops::{OpError, Record};

fn io(e: std::io::Error) -> OpError {
    OpError::new(e.to_string())
}

fn routed(routing: Value, extra: Value) -> Value {
    let mut op =
        json!({"_op": "routed_sender", "_api_name": "file_sender_api", "routing": routing});
    if let (Some(o), Value::Object(e)) = (op.as_object_mut(), extra) {
        o.extend(e);
    }
    op
}

fn file_api(name: &str, dir: &Path) -> Value {
    json!({"_name": name, "path": dir, "format": "ldjson"})
}

fn routed_rec(route: Option<&str>, n: u32) -> Record {
    match route {
        Some(r) => rec(json!({"n": n}), json!({"standard:route": r})),
        None => rec(json!({"n": n}), json!({})),
    }
}

/// Every record written under `dir/<sub>`, as their `n`, sorted.
fn written(dir: &Path) -> Result<Vec<u64>, OpError> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() {
            for line in std::fs::read_to_string(&path).map_err(io)?.lines() {
                let v: Value =
                    serde_json::from_str(line).map_err(|e| OpError::new(e.to_string()))?;
                out.extend(v["n"].as_u64());
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[tokio::test]
async fn routes_records_to_their_route_directory_and_returns_the_slice() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let job = job_with_apis(
        routed(json!({"a, b": "default", "*": "default"}), json!({})),
        json!([file_api("file_sender_api", dir.path())]),
    )?;
    assert_eq!(job.operations[1].get("size"), Some(&json!(10000)));
    assert_eq!(job.operations[1].get("concurrency"), Some(&json!(10)));
    let batch = vec![
        routed_rec(Some("a"), 1),
        routed_rec(Some("b"), 2),
        routed_rec(Some("zz"), 3),
        routed_rec(Some("a"), 4),
    ];
    let out = run_job(&job, batch.clone()).await?;
    assert_eq!(out, batch, "the slice passes through unchanged");
    assert_eq!(written(&dir.path().join("a"))?, vec![1, 4]);
    assert_eq!(written(&dir.path().join("b"))?, vec![2]);
    assert_eq!(
        written(&dir.path().join("zz"))?,
        vec![3],
        "* takes every other route"
    );
    Ok(())
}

#[tokio::test]
async fn records_without_a_known_route_are_rejected_by_dead_letter_action() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let apis = json!([file_api("file_sender_api", dir.path())]);
    let strict = job_with_apis(routed(json!({"a": "default"}), json!({})), apis.clone())?;
    let err = run_job(
        &strict,
        vec![routed_rec(Some("a"), 1), routed_rec(Some("q"), 2)],
    )
    .await;
    assert!(err.is_err_and(|e| e
        .message
        .contains("Invalid connection route: q was not found in routing")));
    let err = run_job(&strict, vec![routed_rec(None, 1)]).await;
    assert!(err.is_err_and(|e| e.message.contains("No route was specified")));
    let lenient = job_with_apis(
        routed(
            json!({"a": "default"}),
            json!({"_dead_letter_action": "none"}),
        ),
        apis.clone(),
    )?;
    run_job(
        &lenient,
        vec![
            routed_rec(Some("a"), 1),
            routed_rec(Some("q"), 2),
            routed_rec(None, 3),
        ],
    )
    .await?;
    assert_eq!(
        written(&dir.path().join("a"))?,
        vec![1],
        "a slice that fails on a route sends nothing"
    );
    assert!(!dir.path().join("q").exists());
    let any = job_with_apis(
        routed(
            json!({"**": "default"}),
            json!({"_dead_letter_action": "none"}),
        ),
        apis,
    )?;
    run_job(&any, vec![routed_rec(Some("q"), 5), routed_rec(None, 6)]).await?;
    assert_eq!(
        written(&dir.path().join("q"))?,
        vec![5],
        "** sends any route, not a missing one"
    );
    Ok(())
}

#[tokio::test]
async fn a_routing_value_may_name_another_sender_api() -> Result<(), OpError> {
    let one = tempfile::tempdir().map_err(io)?;
    let two = tempfile::tempdir().map_err(io)?;
    let apis = json!([
        file_api("file_sender_api:one", one.path()),
        file_api("file_sender_api:two", two.path())
    ]);
    let op = json!({"_op": "routed_sender", "_api_name": "file_sender_api:one", "routing": {"x": "file_sender_api:one", "y": "file_sender_api:two"}});
    let job = job_with_apis(op, apis)?;
    run_job(
        &job,
        vec![
            routed_rec(Some("x"), 1),
            routed_rec(Some("y"), 2),
            routed_rec(Some("y"), 3),
        ],
    )
    .await?;
    assert_eq!(written(&one.path().join("x"))?, vec![1]);
    assert_eq!(written(&two.path().join("y"))?, vec![2, 3]);
    assert!(!one.path().join("y").exists());
    Ok(())
}

#[tokio::test]
async fn batches_are_cut_at_size() -> Result<(), OpError> {
    let dir = tempfile::tempdir().map_err(io)?;
    let api = json!({"_name": "file_sender_api", "path": dir.path(), "format": "ldjson", "file_per_slice": true});
    let job = job_with_apis(
        routed(json!({"a": "default"}), json!({"size": 2})),
        json!([api]),
    )?;
    run_job(&job, (0..5).map(|n| routed_rec(Some("a"), n)).collect()).await?;
    let files = std::fs::read_dir(dir.path().join("a")).map_err(io)?.count();
    assert_eq!(files, 3, "5 records in sends of at most 2, one file each");
    assert_eq!(written(&dir.path().join("a"))?, vec![0, 1, 2, 3, 4]);
    Ok(())
}

#[tokio::test]
async fn elasticsearch_routes_use_the_routing_connection() -> Result<(), OpError> {
    let apis = json!([{"_name": "elasticsearch_sender_api", "index": "out"}]);
    let op = json!({"_op": "routed_sender", "_api_name": "elasticsearch_sender_api", "routing": {"a": "conn-a"}});
    let job = job_with_apis(op, apis)?;
    // No connectors in this registry: the route's sender names the connection it looked for.
    let err = run_job(&job, vec![routed_rec(Some("a"), 1)]).await;
    assert!(
        err.is_err_and(|e| e.message.contains("\"conn-a\"")),
        "the routing value is the route's connection"
    );
    Ok(())
}

#[test]
fn rejects_bad_config_naming_the_field() {
    let dir = Path::new("/tmp/unused-routed");
    let apis = json!([file_api("file_sender_api", dir)]);
    let cases = [
        (
            json!({"_op": "routed_sender", "routing": {"a": "x"}}),
            "_api_name",
            vec!["required"],
        ),
        (
            routed(json!({"a": "x"}), json!({"_api_name": "file_reader_api"})),
            "_api_name",
            vec!["file_reader_api"],
        ),
        (
            json!({"_op": "routed_sender", "_api_name": "file_sender_api"}),
            "routing",
            vec!["required"],
        ),
        (
            routed(json!({}), json!({})),
            "routing",
            vec!["non-empty object"],
        ),
        (
            routed(json!({"a": ""}), json!({})),
            "routing",
            vec!["at least one route"],
        ),
        (
            routed(json!({"a": 3}), json!({})),
            "routing.a",
            vec!["connection", "3"],
        ),
        (
            routed(json!({"*": "x", "**": "y"}), json!({})),
            "routing",
            vec!["\"*\"", "\"**\""],
        ),
        (
            routed(json!({"a": "file_sender_api:missing"}), json!({})),
            "routing.a",
            vec!["file_sender_api:missing", "not in the job's apis"],
        ),
        (
            routed(json!({"a": "x"}), json!({"size": 0})),
            "size",
            vec!["at least 1"],
        ),
        (
            routed(json!({"a": "x"}), json!({"concurrency": 0})),
            "concurrency",
            vec!["at least 1"],
        ),
    ];
    for (op, path, words) in cases {
        let errors = op_errors_with_apis(op.clone(), apis.clone());
        let hit = errors.iter().find(|(p, _)| p == path);
        let Some((_, message)) = hit else {
            panic!("{op} should be rejected at {path}; errors: {errors:?}");
        };
        for w in words {
            assert!(
                message.contains(w),
                "{path}: {message:?} should mention {w:?}"
            );
        }
    }
}
