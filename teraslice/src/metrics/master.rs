//! The master's gauges, set at each scrape from what `/cluster/stats` and `/controllers`
//! answer (Teraslice refreshes them every 10 s; a scrape here reads them fresh).
use std::sync::Arc;

use serde_json::Value;
use teraslice_runtime::metrics::{Gauge, Labels, ProcessMetrics, Refresh};

use teraslice_core::ExecutionStatus;

use super::execution_resources::ResourceGauges;
use crate::api::AppState;
use crate::master::pages::ExecutionPages;
use teraslice_runtime::metrics::Family;

type GaugeFamily = Family<Labels, Gauge>;

/// Cluster-wide gauges (no labels of their own) and their `/cluster/stats` counter.
const CLUSTER: [(&str, &str, &str); 6] = [
    (
        "slices_processed",
        "Total slices processed across the cluster",
        "processed",
    ),
    (
        "slices_failed",
        "Total slices failed across the cluster",
        "failed",
    ),
    (
        "slices_queued",
        "Total slices queued across the cluster",
        "queued",
    ),
    (
        "workers_joined",
        "Total workers joined across the cluster",
        "workers_joined",
    ),
    (
        "workers_disconnected",
        "Total workers disconnected across the cluster",
        "workers_disconnected",
    ),
    (
        "workers_reconnected",
        "Total workers reconnected across the cluster",
        "workers_reconnected",
    ),
];

/// Per-execution gauges (labels ex_id, job_id, job_name) and their controller stats field.
const PER_CONTROLLER: [(&str, &str, &str); 9] = [
    ("controller_workers_active", "Number of Teraslice workers actively processing slices.", "workers_active"),
    ("controller_workers_available", "Number of Teraslice workers running and waiting for work.", "workers_available"),
    ("controller_workers_joined", "Total number of Teraslice workers that have joined the execution controller for this job.", "workers_joined"),
    ("controller_workers_reconnected", "Total number of Teraslice workers that have reconnected to the execution controller for this job.", "workers_reconnected"),
    ("controller_workers_disconnected", "Total number of Teraslice workers that have disconnected from execution controller for this job.", "workers_disconnected"),
    ("controller_slices_processed", "Number of slices processed.", "processed"),
    ("controller_slices_failed", "Number of slices failed.", "failed"),
    ("controller_slices_queued", "Number of slices queued for processing.", "queued"),
    ("controller_slicers_count", "Number of execution controllers (slicers) running for this execution.", "slicers"),
];

struct MasterGauges {
    cluster: Vec<(GaugeFamily, &'static str)>,
    per_controller: Vec<(GaugeFamily, &'static str)>,
    per_execution: ExecutionGauges,
}

/// Teraslice's gauges of each living execution (labels ex_id, job_id, job_name).
struct ExecutionGauges {
    status: GaugeFamily,
    created: GaugeFamily,
    updated: GaugeFamily,
    slicers: GaugeFamily,
    workers: GaugeFamily,
    resources: ResourceGauges,
}

impl ExecutionGauges {
    fn register(m: &ProcessMetrics) -> Self {
        ExecutionGauges {
            status: m.gauge_family(
                "execution_status",
                "Current status of the Teraslice execution.",
            ),
            created: m.gauge_family(
                "execution_created_timestamp_seconds",
                "Execution creation time.",
            ),
            updated: m.gauge_family(
                "execution_updated_timestamp_seconds",
                "Execution update time.",
            ),
            slicers: m.gauge_family(
                "execution_slicers",
                "Number of slicers defined on the execution.",
            ),
            workers: m.gauge_family(
                "execution_workers",
                "Number of workers defined on the execution.",
            ),
            resources: ResourceGauges::register(m),
        }
    }

    fn families(&self) -> [&GaugeFamily; 5] {
        [
            &self.status,
            &self.created,
            &self.updated,
            &self.slicers,
            &self.workers,
        ]
    }

    /// Sets them for every living execution (status: 1 for its status, 0 for the others).
    async fn set(&self, s: &AppState) {
        let living: Vec<ExecutionStatus> = ExecutionStatus::ALL
            .into_iter()
            .filter(|st| st.is_living())
            .collect();
        let mut pages = ExecutionPages::new(&s.store, living);
        let mut exs = Vec::new();
        loop {
            match pages.next().await {
                Ok(Some(page)) => exs.extend(page),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "execution metrics not updated");
                    return;
                }
            }
        }
        for family in self.families() {
            family.clear();
        }
        self.resources.clear();
        match s.backend.cluster_state().await {
            Ok(state) => self.resources.set_info(&s.config, &state, &exs),
            Err(e) => tracing::warn!(error = %e, "execution_info not updated"),
        }
        for ex in exs {
            let labels: Labels = vec![
                ("ex_id".into(), ex.ex_id.clone()),
                ("job_id".into(), ex.job_id.clone()),
                ("job_name".into(), ex.job.name.clone()),
            ];
            self.created
                .get_or_create(&labels)
                .set(ex.created.timestamp());
            self.updated
                .get_or_create(&labels)
                .set(ex.updated.timestamp());
            self.slicers
                .get_or_create(&labels)
                .set(i64::from(ex.job.slicers));
            self.workers
                .get_or_create(&labels)
                .set(i64::from(ex.job.workers));
            self.resources.set_resources(&ex, &labels);
            for status in ExecutionStatus::ALL {
                let mut with_status = labels.clone();
                with_status.push(("status".into(), status.as_str().into()));
                let on = i64::from(status == ex.status);
                self.status.get_or_create(&with_status).set(on);
            }
        }
    }
}

fn as_gauge(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_u64)
        .map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Registers the master's gauges in `m` and returns the hook that sets them before a scrape.
pub fn refresh(m: &ProcessMetrics, state: AppState) -> Refresh {
    let gauges = Arc::new(MasterGauges {
        cluster: CLUSTER
            .iter()
            .map(|(name, help, key)| (m.gauge_family(name, help), *key))
            .collect(),
        per_controller: PER_CONTROLLER
            .iter()
            .map(|(name, help, key)| (m.gauge_family(name, help), *key))
            .collect(),
        per_execution: ExecutionGauges::register(m),
    });
    Arc::new(move || {
        let (gauges, state) = (gauges.clone(), state.clone());
        Box::pin(async move { set(&gauges, &state).await })
    })
}

async fn set(g: &MasterGauges, s: &AppState) {
    g.per_execution.set(s).await;
    match crate::api::cluster_counters(s).await {
        Ok(counters) => {
            for (family, key) in &g.cluster {
                family
                    .get_or_create(&Vec::new())
                    .set(as_gauge(counters.get(*key)));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cluster metrics not updated"),
    }
    let controllers = match crate::api::controller_list(s).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "controller metrics not updated");
            return;
        }
    };
    // Like Teraslice's resetMetrics: executions that ended leave the per-controller gauges.
    for (family, _) in &g.per_controller {
        family.clear();
    }
    for c in &controllers {
        let text = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let labels: Labels = vec![
            ("ex_id".into(), text("ex_id")),
            ("job_id".into(), text("job_id")),
            ("job_name".into(), text("name")),
        ];
        for (family, key) in &g.per_controller {
            family.get_or_create(&labels).set(as_gauge(c.get(*key)));
        }
    }
}
