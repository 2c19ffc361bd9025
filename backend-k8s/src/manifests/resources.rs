//! cpu/memory → requests and limits, and the env merge (§1.6 `_setResources`).
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use teraslice_core::backend::Assignment;
use teraslice_core::JobConfig;

use crate::config::K8sConfig;

/// A number as Kubernetes reads it: `1`, `0.5`, `2147483648` (JS number formatting).
pub fn quantity(v: f64) -> Quantity {
    Quantity(format!("{v}"))
}

/// Teraslice treats 0 like "not set" (JS truthiness).
fn truthy(v: Option<f64>) -> Option<f64> {
    v.filter(|n| *n > 0.0)
}

#[derive(Default)]
struct Amounts {
    requests: BTreeMap<String, Quantity>,
    limits: BTreeMap<String, Quantity>,
}

impl Amounts {
    fn both(&mut self, key: &str, v: f64) {
        self.requests.insert(key.into(), quantity(v));
        self.limits.insert(key.into(), quantity(v));
    }
    fn split(&mut self, key: &str, request: Option<f64>, limit: Option<f64>) {
        if let Some(r) = request {
            self.requests.insert(key.into(), quantity(r));
        }
        if let Some(l) = limit {
            self.limits.insert(key.into(), quantity(l));
        }
    }
}

fn worker_amounts(cfg: &K8sConfig, job: &JobConfig) -> Amounts {
    let mut a = Amounts::default();
    let (req_cpu, lim_cpu) = (
        truthy(job.resources_requests_cpu),
        truthy(job.resources_limits_cpu),
    );
    // CPU and memory are decided independently, as Teraslice does.
    if req_cpu.is_some() || lim_cpu.is_some() {
        a.split("cpu", req_cpu, lim_cpu);
    } else if let Some(cpu) = truthy(job.cpu).or(truthy(cfg.cpu)) {
        a.both("cpu", cpu);
    }
    let (req_mem, lim_mem) = (
        truthy(job.resources_requests_memory),
        truthy(job.resources_limits_memory),
    );
    if req_mem.is_some() || lim_mem.is_some() {
        a.split("memory", req_mem, lim_mem);
    } else if let Some(mem) = truthy(job.memory).or(truthy(cfg.memory)) {
        a.both("memory", mem);
    }
    a
}

fn controller_amounts(cfg: &K8sConfig, job: &JobConfig) -> Amounts {
    let mut a = Amounts::default();
    let cpu = truthy(job.cpu_execution_controller).or(truthy(Some(cfg.cpu_execution_controller)));
    let memory =
        truthy(job.memory_execution_controller).or(truthy(Some(cfg.memory_execution_controller)));
    if let Some(cpu) = cpu {
        a.both("cpu", cpu);
    }
    if let Some(memory) = memory {
        a.both("memory", memory);
    }
    a
}

/// Config `env_vars` first, the job's values win in place, new job keys are appended; a user
/// variable with the name of one of ours replaces ours in place.
fn merge_env(env: &mut Vec<EnvVar>, cfg: &K8sConfig, job: &JobConfig) {
    for (name, value) in cfg.env_vars.iter().chain(job.env_vars.iter()) {
        match env.iter_mut().find(|e| &e.name == name) {
            Some(existing) => {
                existing.value = Some(value.clone());
                existing.value_from = None;
            }
            None => env.push(EnvVar {
                name: name.clone(),
                value: Some(value.clone()),
                value_from: None,
            }),
        }
    }
}

pub fn set_resources(spec: &mut PodSpec, role: Assignment, cfg: &K8sConfig, job: &JobConfig) {
    let amounts = match role {
        Assignment::Worker => worker_amounts(cfg, job),
        Assignment::ExecutionController => controller_amounts(cfg, job),
    };
    let Some(container) = spec.containers.first_mut() else {
        return;
    };
    if !amounts.requests.is_empty() || !amounts.limits.is_empty() {
        container.resources = Some(ResourceRequirements {
            requests: (!amounts.requests.is_empty()).then_some(amounts.requests),
            limits: (!amounts.limits.is_empty()).then_some(amounts.limits),
            ..Default::default()
        });
    }
    merge_env(container.env.get_or_insert_with(Vec::new), cfg, job);
}
