//! Execution analytics (Teraslice `ExecutionAnalytics`, master reference §2.5) and the per-op
//! aggregate of slice analytics (Teraslice `SliceAnalytics`, logged at the end).
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::SliceAnalytics;

/// The stats the master reads from `GET /api/v1/analytics` and that are snapshotted into the
/// execution's `_slicer_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionAnalytics {
    pub workers_available: u64,
    pub workers_active: u64,
    pub workers_joined: u64,
    pub workers_reconnected: u64,
    pub workers_disconnected: u64,
    /// Seconds, set when the execution ends.
    pub job_duration: u64,
    pub failed: u64,
    pub subslices: u64,
    pub queued: u64,
    pub slice_range_expansion: u64,
    /// Slices finished, successfully or not.
    pub processed: u64,
    pub slicers: u64,
    pub subslice_by_key: u64,
    /// Ours: records the fetchers returned in slices that completed (the UI's records/s).
    #[serde(default)]
    pub records: u64,
    /// ISO time `run()` started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// ISO time every slicer finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queuing_complete: Option<String>,
}

impl ExecutionAnalytics {
    /// As the JSON object stored in `_slicer_stats`.
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// `{min, max, sum, total, average}` of one metric of one op.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricStats {
    pub min: i64,
    pub max: i64,
    pub sum: i64,
    pub total: u64,
    pub average: f64,
}

impl MetricStats {
    fn add(&mut self, v: i64) {
        // Unlike Teraslice, a first value of 0 is a real minimum (the original reset on 0).
        if self.total == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.sum += v;
        self.total += 1;
        self.average = (self.sum as f64 / self.total as f64 * 100.0).round() / 100.0;
    }
}

/// Per-op aggregates over every successful slice.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpStats {
    pub time: Vec<MetricStats>,
    pub size: Vec<MetricStats>,
    pub memory: Vec<MetricStats>,
}

impl OpStats {
    pub fn add(&mut self, a: &SliceAnalytics) {
        fn fold(into: &mut Vec<MetricStats>, values: &[i64]) {
            for (i, v) in values.iter().enumerate() {
                // -1 = the op did not run; Teraslice counted it, we skip it.
                if *v < 0 {
                    continue;
                }
                if into.len() <= i {
                    into.resize(i + 1, MetricStats::default());
                }
                into[i].add(*v);
            }
        }
        fold(&mut self.time, &a.time);
        fold(&mut self.size, &a.size);
        fold(&mut self.memory, &a.memory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_per_op_and_skips_ops_that_did_not_run() {
        let mut s = OpStats::default();
        s.add(&SliceAnalytics {
            time: vec![0, 10],
            size: vec![5, -1],
            memory: vec![0, 0],
        });
        s.add(&SliceAnalytics {
            time: vec![4, 20],
            size: vec![7, 3],
            memory: vec![0, 0],
        });
        assert_eq!(s.time[0].min, 0);
        assert_eq!(s.time[1].average, 15.0);
        assert_eq!(s.size[1].total, 1);
        assert_eq!(s.size[0].max, 7);
    }
}
