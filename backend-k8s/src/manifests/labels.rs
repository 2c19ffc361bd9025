//! The labels of §1.2: standard ones on every object, user `labels` on the Job and Deployment.
use std::collections::BTreeMap;

use teraslice_core::backend::Assignment;
use teraslice_core::ExecutionRecord;

use crate::config::K8sConfig;
use crate::names::{job_name_label, sanitize_label_part};

pub const NAME: &str = "app.kubernetes.io/name";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const EX_ID: &str = "teraslice.terascope.io/exId";
pub const JOB_ID: &str = "teraslice.terascope.io/jobId";
pub const JOB_NAME: &str = "teraslice.terascope.io/jobName";
pub const USER_PREFIX: &str = "job.teraslice.terascope.io/";
pub const RELOCATABLE: &str = "job.teraslice.terascope.io/relocatable";
pub const STATEFUL: &str = "job-property.teraslice.terascope.io/stateful";
pub const APP: &str = "teraslice";

pub type Labels = BTreeMap<String, String>;

/// `execution_controller` / `worker`: the `app.kubernetes.io/component` value.
pub fn component(role: Assignment) -> &'static str {
    match role {
        Assignment::ExecutionController => "execution_controller",
        Assignment::Worker => "worker",
    }
}

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Metadata (and pod template) labels of the EC Job and the worker Deployment.
pub fn standard(cfg: &K8sConfig, ex: &ExecutionRecord, role: Assignment) -> Labels {
    let mut l = labels([
        (NAME, APP),
        (COMPONENT, component(role)),
        (INSTANCE, &cfg.cluster_label),
        (EX_ID, &ex.ex_id),
        (JOB_ID, &ex.job_id),
    ]);
    l.insert(JOB_NAME.into(), job_name_label(&ex.job.name));
    for (k, v) in ex.job.labels.iter().flatten() {
        l.insert(
            format!("{USER_PREFIX}{}", sanitize_label_part(k)),
            sanitize_label_part(v),
        );
    }
    if role == Assignment::ExecutionController {
        let relocatable = ex.job.relocatable.unwrap_or(false);
        l.insert(RELOCATABLE.into(), relocatable.to_string());
    }
    l
}

/// The Service's labels: no instance, job name or user labels (as Teraslice).
pub fn service(ex: &ExecutionRecord) -> Labels {
    labels([
        (NAME, APP),
        (COMPONENT, component(Assignment::ExecutionController)),
        (EX_ID, &ex.ex_id),
        (JOB_ID, &ex.job_id),
    ])
}

/// The Service selects the EC pod of this execution.
pub fn service_selector(ex_id: &str) -> Labels {
    labels([
        (COMPONENT, component(Assignment::ExecutionController)),
        (EX_ID, ex_id),
    ])
}

/// The Deployment's `spec.selector.matchLabels`.
pub fn worker_selector(ex_id: &str) -> Labels {
    labels([
        (NAME, APP),
        (COMPONENT, component(Assignment::Worker)),
        (EX_ID, ex_id),
    ])
}

/// `app.kubernetes.io/component=<role>,teraslice.terascope.io/exId=<ex_id>`: list/delete selector.
pub fn selector(role: Assignment, ex_id: &str) -> String {
    format!("{COMPONENT}={},{EX_ID}={ex_id}", component(role))
}
