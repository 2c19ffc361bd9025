//! Prometheus metrics (Teraslice's `terafoundation.prom_metrics_*`): a registry per process with
//! Teraslice's prefix (`teraslice_<assignment>_`) and default labels, `GET /metrics` in the text
//! exposition format (0.0.4), and the handles the hot paths update (atomics; no lock or
//! allocation per record). Names, types and labels are listed in `docs/observability.md`.
//!
//! One registry per process, installed once with [`install`]; code that records something asks
//! [`runtime`] (an atomic load) and does nothing when metrics are off.
mod exporter;
mod names;
mod ops;
mod process;
mod settings;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use exporter::{serve, MetricsServer, Refresh};
pub use names::Assignment;
pub use ops::OpMetrics;
pub use settings::MetricsSettings;

/// A gauge holding a float (CPU cores, bytes given as numbers with decimals).
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// A label set: `(name, value)` pairs in the order given.
pub type Labels = Vec<(String, String)>;

/// The bucket bounds (seconds) of the duration histograms: 1 ms to 5 min.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0,
];

/// The registry of one process and the metrics every assignment has.
pub struct ProcessMetrics {
    assignment: Assignment,
    registry: Mutex<Registry>,
    counters: Mutex<HashMap<String, Family<Labels, Counter>>>,
    gauges: Mutex<HashMap<String, Family<Labels, Gauge>>>,
    float_gauges: Mutex<HashMap<String, Family<Labels, FloatGauge>>>,
    default_metrics: Option<process::DefaultMetrics>,
    /// `<assignment>_info` (`master_info`, `execution_controller_info`, `worker_info`).
    info: Family<Labels, Gauge>,
    /// The hot-path handles of the EC and the worker.
    pub runtime: RuntimeMetrics,
}

/// Handles the execution controller and the worker update as they go.
#[derive(Clone)]
pub struct RuntimeMetrics {
    /// Teraslice's `slices_processed` (EC: all workers, from its analytics; worker: its own).
    pub slices_processed: Gauge,
    /// Slices that failed (EC: all workers; worker: its own).
    pub slices_failed: Gauge,
    /// EC: slices made and waiting for a worker.
    pub slices_queued: Gauge,
    /// EC: workers connected and idle / running a slice.
    pub workers_available: Gauge,
    pub workers_active: Gauge,
    pub workers_joined: Gauge,
    pub workers_reconnected: Gauge,
    pub workers_disconnected: Gauge,
    /// Worker: records the reader returned (the job's input rate is its `rate()`).
    pub records_read: Counter,
    /// Worker: records the last operation returned.
    pub records_written: Counter,
    /// Worker: seconds each operation took per slice, label `op` (`<index>:<_op>`).
    pub op_duration: Family<Labels, Histogram, fn() -> Histogram>,
    /// Worker: seconds a whole slice took (fetch and every processor, retries included).
    pub slice_duration: Histogram,
    /// EC: seconds one batched write of slice states to the state store took.
    pub store_write_duration: Histogram,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl RuntimeMetrics {
    fn new() -> Self {
        RuntimeMetrics {
            slices_processed: Gauge::default(),
            slices_failed: Gauge::default(),
            slices_queued: Gauge::default(),
            workers_available: Gauge::default(),
            workers_active: Gauge::default(),
            workers_joined: Gauge::default(),
            workers_reconnected: Gauge::default(),
            workers_disconnected: Gauge::default(),
            records_read: Counter::default(),
            records_written: Counter::default(),
            op_duration: Family::new_with_constructor(duration_histogram),
            slice_duration: duration_histogram(),
            store_write_duration: duration_histogram(),
        }
    }

    /// The `op_duration_seconds` histogram of each op label, to keep and pass to
    /// [`RuntimeMetrics::worker_slice`] (no lookup per slice).
    pub fn op_histograms(&self, ops: &[String]) -> Vec<Histogram> {
        ops.iter()
            .map(|op| {
                let labels = vec![("op".to_string(), op.clone())];
                self.op_duration.get_or_create_owned(&labels)
            })
            .collect()
    }

    /// Records one finished slice of this worker: per-op times (ms) into `ops` (from
    /// [`RuntimeMetrics::op_histograms`]) and record counts.
    pub fn worker_slice(&self, ops: &[Histogram], time_ms: &[i64], size: &[i64], failed: bool) {
        self.slices_processed.inc();
        if failed {
            self.slices_failed.inc();
            return;
        }
        let mut total = 0i64;
        for (op, ms) in ops.iter().zip(time_ms) {
            if *ms < 0 {
                continue;
            }
            total += ms;
            op.observe(*ms as f64 / 1000.0);
        }
        self.slice_duration.observe(total as f64 / 1000.0);
        if let Some(read) = size.first().filter(|n| **n > 0) {
            self.records_read.inc_by(*read as u64);
        }
        if let Some(written) = size.iter().rev().find(|n| **n >= 0) {
            self.records_written.inc_by(*written as u64);
        }
    }
}

static PROCESS: OnceLock<Arc<ProcessMetrics>> = OnceLock::new();

/// The process's metrics, when [`install`]ed.
pub fn installed() -> Option<&'static Arc<ProcessMetrics>> {
    PROCESS.get()
}

/// The hot-path handles, when metrics are on in this process.
pub fn runtime() -> Option<&'static RuntimeMetrics> {
    PROCESS.get().map(|p| &p.runtime)
}

/// Builds this process's registry (prefix and default labels of `assignment`) and makes it the
/// one [`installed`] returns. A second call returns the first registry.
pub fn install(
    assignment: Assignment,
    settings: &MetricsSettings,
    default_labels: Labels,
) -> Arc<ProcessMetrics> {
    PROCESS
        .get_or_init(|| Arc::new(ProcessMetrics::new(assignment, settings, default_labels)))
        .clone()
}

impl ProcessMetrics {
    /// A registry for `assignment` that is not installed process-wide (tests, `teraslice run`).
    pub fn new(assignment: Assignment, settings: &MetricsSettings, default_labels: Labels) -> Self {
        let labels = default_labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)));
        let mut registry = Registry::with_prefix_and_labels(assignment.prefix(), labels);
        let info = Family::<Labels, Gauge>::default();
        registry.register(
            assignment.info_name(),
            format!("Information about Teraslice {}", assignment.describe()),
            info.clone(),
        );
        let default_metrics = settings
            .add_default
            .then(|| process::DefaultMetrics::register(&mut registry));
        let runtime = RuntimeMetrics::new();
        names::register_runtime(&mut registry, assignment, &runtime);
        ProcessMetrics {
            assignment,
            registry: Mutex::new(registry),
            counters: Mutex::new(HashMap::new()),
            gauges: Mutex::new(HashMap::new()),
            float_gauges: Mutex::new(HashMap::new()),
            default_metrics,
            info,
            runtime,
        }
    }

    pub fn assignment(&self) -> Assignment {
        self.assignment
    }

    /// Sets `<assignment>_info` to 1 with these labels (Teraslice: arch, clustering_type,
    /// node_version, platform, teraslice_version; `name` is a default label).
    pub fn set_info(&self, labels: Labels) {
        self.info.get_or_create(&labels).set(1);
    }

    /// The gauge family `name` under this process's prefix, registered on first use (a master
    /// started twice in one process shares it instead of listing it twice).
    pub fn gauge_family(&self, name: &str, help: &str) -> Family<Labels, Gauge> {
        let mut gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(family) = gauges.get(name) {
            return family.clone();
        }
        let family = Family::<Labels, Gauge>::default();
        self.lock().register(name, help, family.clone());
        gauges.insert(name.to_string(), family.clone());
        family
    }

    /// The float gauge family `name` under this process's prefix, registered on first use.
    pub fn float_gauge_family(&self, name: &str, help: &str) -> Family<Labels, FloatGauge> {
        let mut gauges = self.float_gauges.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(family) = gauges.get(name) {
            return family.clone();
        }
        let family = Family::<Labels, FloatGauge>::default();
        self.lock().register(name, help, family.clone());
        gauges.insert(name.to_string(), family.clone());
        family
    }

    /// The counter family `name` (`<prefix>_<name>_total`), registered on first use.
    pub fn counter_family(&self, name: &str, help: &str) -> Family<Labels, Counter> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(family) = counters.get(name) {
            return family.clone();
        }
        let family = Family::<Labels, Counter>::default();
        self.lock().register(name, help, family.clone());
        counters.insert(name.to_string(), family.clone());
        family
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The text exposition (format 0.0.4) of every metric.
    pub fn encode(&self) -> String {
        if let Some(d) = &self.default_metrics {
            d.refresh();
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.lock())
        {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(add_default: bool) -> MetricsSettings {
        MetricsSettings {
            enabled: true,
            port: 0,
            add_default,
            display_url: String::new(),
        }
    }

    fn labels() -> Labels {
        vec![
            ("name".into(), "ts".into()),
            ("assignment".into(), "worker".into()),
        ]
    }

    #[test]
    fn worker_text_has_teraslice_names_prefix_and_default_labels() {
        let m = ProcessMetrics::new(Assignment::Worker, &settings(false), labels());
        m.set_info(vec![("arch".into(), "x64".into())]);
        let ops = m
            .runtime
            .op_histograms(&["0:data_generator".to_string(), "1:noop".to_string()]);
        m.runtime.worker_slice(&ops, &[3, 1], &[10, 10], false);
        m.runtime.worker_slice(&[], &[], &[], true);
        let text = m.encode();
        for line in [
            "# TYPE teraslice_worker_worker_info gauge",
            "teraslice_worker_worker_info{name=\"ts\",assignment=\"worker\",arch=\"x64\"} 1",
            "teraslice_worker_slices_processed{name=\"ts\",assignment=\"worker\"} 2",
            "teraslice_worker_slices_failed{name=\"ts\",assignment=\"worker\"} 1",
            "teraslice_worker_records_read_total{name=\"ts\",assignment=\"worker\"} 10",
            "teraslice_worker_op_duration_seconds_count{name=\"ts\",assignment=\"worker\",op=\"1:noop\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(!text.contains("process_resident_memory_bytes"));
    }

    #[test]
    fn master_names_start_with_teraslice_and_default_metrics_are_optional() {
        let m = ProcessMetrics::new(Assignment::Master, &settings(true), labels());
        m.set_info(vec![]);
        m.gauge_family(
            "slices_processed",
            "Total slices processed across the cluster",
        )
        .get_or_create(&Vec::new())
        .set(7);
        let text = m.encode();
        assert!(text.contains("\nteraslice_master_info{"), "{text}");
        assert!(
            text.contains("\nteraslice_slices_processed{name=\"ts\",assignment=\"worker\"} 7"),
            "{text}"
        );
        assert!(
            text.contains("teraslice_process_resident_memory_bytes{"),
            "{text}"
        );
    }

    #[test]
    fn counters_of_one_name_share_one_family() {
        let m = ProcessMetrics::new(Assignment::Worker, &settings(false), labels());
        let a = m.counter_family("elasticsearch_records_read", "Records read");
        let b = m.counter_family("elasticsearch_records_read", "ignored");
        a.get_or_create(&vec![("op_name".into(), "x".into())])
            .inc_by(2);
        b.get_or_create(&vec![("op_name".into(), "x".into())])
            .inc_by(3);
        assert!(m
            .encode()
            .contains("teraslice_worker_elasticsearch_records_read_total{name=\"ts\",assignment=\"worker\",op_name=\"x\"} 5"));
    }
}
