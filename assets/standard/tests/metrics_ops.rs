//! Op counters on `/metrics`: `count_by_field` with `collect_metrics` adds each slice's counts
//! to `count_by_field_count_total`, as Teraslice does (this test process installs a worker's
//! metrics registry, so it has its own binary).
mod ops_standard_support;

use ops_standard_support::{ctx, job, registry};
use serde_json::json;
use teraslice_runtime::metrics::{self, Assignment, MetricsSettings};
use teraslice_runtime::ops::{OpError, Record};

#[tokio::test]
async fn count_by_field_counts_values_per_slice_into_a_counter() -> Result<(), OpError> {
    let settings = MetricsSettings {
        enabled: true,
        port: 0,
        add_default: false,
        display_url: String::new(),
    };
    let m = metrics::install(
        Assignment::Worker,
        &settings,
        vec![("name".into(), "t".into())],
    );
    let job = job(json!({"_op": "count_by_field", "field": "color", "collect_metrics": true}))?;
    let mut p = registry()
        .processor(job.operations[1].op_name())?
        .processor(&ctx(&job, 1, Some("w1")))?;
    p.initialize().await?;
    for _ in 0..2 {
        let batch = ["red", "red", "blue"].map(|c| Record::new(json!({"color": c})));
        p.on_batch(batch.to_vec()).await?;
        p.on_slice_finalizing("s").await?;
    }
    let text = m.encode();
    for line in [
        "teraslice_worker_count_by_field_count_total{name=\"t\",color=\"red\",field=\"color\",op_name=\"count_by_field\"} 4",
        "teraslice_worker_count_by_field_count_total{name=\"t\",color=\"blue\",field=\"color\",op_name=\"count_by_field\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    Ok(())
}
