//! The elasticsearch ops' counters on a real OpenSearch: a native job reads an index with
//! `elasticsearch_reader`, counts a field with `count_by_field` and writes with
//! `elasticsearch_bulk`; the worker's `elasticsearch_records_read_total`,
//! `elasticsearch_records_written_total` and `count_by_field_count_total` equal the documents the
//! destination index holds. Needs `OPENSEARCH_URL` (`cargo xtask opensearch up`).
mod common;

use common::native::{wait_for, NativeMaster};
use common::prom::{free_port, scrape, targets, Metrics};
use prometheus_parse::Value as PromValue;
use serde_json::{json, Value};

const DOCS: u64 = 600;
const KINDS: [&str; 3] = ["alpha", "beta", "gamma"];

fn opensearch_url() -> String {
    match std::env::var("OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => url.trim_end_matches('/').to_string(),
        _ => panic!(
            "OPENSEARCH_URL is not set: run `cargo xtask opensearch up` and \
             `eval \"$(cargo xtask opensearch env)\"`, or run the tests with `cargo xtask test`"
        ),
    }
}

/// `DOCS` documents, one per second over ten minutes, `kind` cycling through `KINDS`.
async fn seed(http: &reqwest::Client, os: &str, index: &str) {
    let mut body = String::new();
    for i in 0..DOCS {
        let created = format!("2024-01-01T00:{:02}:{:02}Z", i / 60, i % 60);
        let kind = KINDS[(i % 3) as usize];
        body.push_str(&format!("{}\n", json!({"index": {"_id": format!("d{i}")}})));
        body.push_str(&format!(
            "{}\n",
            json!({"n": i, "created": created, "kind": kind})
        ));
    }
    let resp = http
        .post(format!("{os}/{index}/_bulk?refresh=true"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("bulk");
    let answer: Value = resp.json().await.expect("bulk answer");
    assert_eq!(answer["errors"], false, "seeding {index}: {answer}");
}

/// Documents in `index` (matching the query string `q` when given), after a refresh.
async fn count(http: &reqwest::Client, os: &str, index: &str, q: Option<&str>) -> Option<f64> {
    http.post(format!("{os}/{index}/_refresh"))
        .send()
        .await
        .ok()?;
    let mut req = http.get(format!("{os}/{index}/_count"));
    if let Some(q) = q {
        req = req.query(&[("q", q)]);
    }
    let body: Value = req.send().await.ok()?.json().await.ok()?;
    body["count"].as_f64()
}

/// The sum of the counter `name` over its series whose label `label` is `value`.
fn total(m: &Metrics, name: &str, label: (&str, &str)) -> f64 {
    m.all(name)
        .iter()
        .filter(|s| s.labels.get(label.0) == Some(label.1))
        .map(|s| match s.value {
            PromValue::Counter(v) | PromValue::Untyped(v) => v,
            ref other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn the_elasticsearch_counters_equal_what_the_indices_hold() {
    let os = opensearch_url();
    let http = reqwest::Client::new();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (src, dst) = (format!("esm-src-{tag}"), format!("esm-dst-{tag}"));
    seed(&http, &os, &src).await;

    let port = free_port();
    let m = NativeMaster::start_with(&format!(
        "terafoundation:\n  prom_metrics_enabled: true\n  prom_metrics_port: {port}\n  \
         connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{os}\"]\n"
    ));
    // One slice a minute of documents; the delay keeps the job running long enough to pause.
    let spec = json!({
        "name": "es-metered", "lifecycle": "once", "workers": 1,
        "operations": [
            {"_op": "elasticsearch_reader", "index": src, "date_field_name": "created", "interval": "1m"},
            {"_op": "count_by_field", "field": "kind", "collect_metrics": true},
            {"_op": "delay", "ms": 500},
            {"_op": "elasticsearch_bulk", "index": dst, "size": 50}
        ]
    });
    let ex_id = m.submit(&spec).await;
    let sd_dir = m.path().join("data").join("metrics-targets");
    wait_for("the worker's file-SD target", || async {
        targets(&sd_dir, &ex_id).contains_key("worker")
    })
    .await;
    let worker = targets(&sd_dir, &ex_id)["worker"].clone();
    let read = "teraslice_worker_elasticsearch_records_read_total";
    let written = "teraslice_worker_elasticsearch_records_written_total";
    let reader = ("op_name", "elasticsearch_reader");
    let sender = ("op_name", "elasticsearch_bulk");
    wait_for("a few slices written", || async {
        scrape(&http, &worker)
            .await
            .is_some_and(|s| total(&s, written, sender) >= 120.0)
    })
    .await;

    // Paused, no slice in flight: what the worker counted is what the destination holds.
    m.post(&format!("/ex/{ex_id}/_pause")).await;
    m.wait_status(&ex_id, "paused").await;
    wait_for(
        "the counters to equal the destination's documents",
        || async {
            let idle = m.get(&format!("/ex/{ex_id}/controller")).await[0]["workers_active"] == 0;
            let Some(s) = scrape(&http, &worker).await else {
                return false;
            };
            let held = count(&http, &os, &dst, None).await;
            let (r, w) = (total(&s, read, reader), total(&s, written, sender));
            let mut by_kind = true;
            for kind in KINDS {
                let counted = total(
                    &s,
                    "teraslice_worker_count_by_field_count_total",
                    ("kind", kind),
                );
                let q = format!("kind:{kind}");
                by_kind &= count(&http, &os, &dst, Some(&q)).await == Some(counted);
            }
            idle && held == Some(w) && r == w && by_kind
        },
    )
    .await;
    let held = count(&http, &os, &dst, None).await.expect("count");
    assert!(held > 0.0 && held < DOCS as f64, "paused mid-way: {held}");

    // Resumed to the end: every document read once and written once.
    m.post(&format!("/ex/{ex_id}/_resume")).await;
    m.wait_status(&ex_id, "completed").await;
    assert_eq!(count(&http, &os, &dst, None).await, Some(DOCS as f64));
    for index in [&src, &dst] {
        let _ = http.delete(format!("{os}/{index}")).send().await;
    }
}
