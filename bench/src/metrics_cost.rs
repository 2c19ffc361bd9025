//! What Prometheus metrics cost a running execution: `teraslice run` of the noop job with the
//! job's `prom_metrics_enabled: true` against the same with `false`, alternated round by round so
//! both sides see the same load, medians compared.
use std::path::Path;

use serde_json::{json, Value};

use crate::dispatch::RateOf;
use crate::dispatch_native::process_rate_with;
use crate::report::{ratio, Report};

const WORKERS: usize = 4;

pub async fn run(report: &mut Report, teraslice: &Path, scale: u64) -> anyhow::Result<()> {
    let slices = 5_000 * scale;
    let rounds = if scale > 1 { 9 } else { 3 };
    let dir = tempfile::tempdir()?;
    // The noop job of the dispatch section: one record per slice, passed through.
    let requests = dir.path().join("requests.json");
    let one_record_each: Vec<Value> = (0..slices).map(|i| json!([{ "n": i }])).collect();
    std::fs::write(&requests, serde_json::to_vec(&one_record_each)?)?;
    let reader = json!({
        "_op": "test-reader",
        "passthrough_slice": true,
        "slicer_data_file_path": requests.to_string_lossy(),
    });
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Which side goes first alternates too: neither always runs on a warmer machine.
        for metrics in [round % 2 == 0, round % 2 != 0] {
            let rates =
                process_rate_with(teraslice, slices, WORKERS, reader.clone(), metrics).await?;
            if metrics { &mut on } else { &mut off }.push(rates);
        }
    }
    let s = report.section(
        "Prometheus metrics (native)",
        &format!(
            "`teraslice run` of the dispatch section's noop job ({slices} one-record slices, \
             {WORKERS} workers, SQLite, EC and workers as processes) with the job's \
             `prom_metrics_enabled: true` against `false`: {rounds} rounds, each running both \
             (the order alternating), medians of each side. With metrics on, each EC and worker \
             serves `/metrics` and counts every slice (atomic adds, one histogram observation per \
             op); nothing is done per record."
        ),
    );
    let spans: [(&str, RateOf); 2] = [("", |r| r.dispatch), (", whole execution", |r| r.whole)];
    for (span, rate) in spans {
        let with = median(on.iter().map(rate).collect());
        let without = median(off.iter().map(rate).collect());
        s.row(
            &format!("slices/s, `teraslice run`, job `prom_metrics_enabled: true`{span} (median of {rounds})"),
            format!("{with:.0}"),
            format!("{without:.0}, the same with metrics off, alternated"),
            ratio(with, without),
        );
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
