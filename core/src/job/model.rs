//! Typed job fields. Undeclared keys are kept (Teraslice keeps them, with a warning).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `env_vars`: name → value, in the order written (a pod's `env` lists them in that order).
pub type EnvVars = indexmap::IndexMap<String, String>;

/// A validated job (Teraslice `ValidatedJobConfig`); serializes to Teraslice's job JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobConfig {
    pub name: String,
    pub lifecycle: Lifecycle,
    pub active: bool,
    pub analytics: bool,
    pub assets: Option<Vec<String>>,
    pub autorecover: bool,
    pub max_retries: u32,
    pub operations: Vec<OpConfig>,
    pub apis: Vec<ApiConfig>,
    /// Milliseconds.
    pub probation_window: u64,
    pub slicers: u32,
    pub workers: u32,
    pub stateful: bool,
    pub labels: Option<BTreeMap<String, String>>,
    pub env_vars: EnvVars,
    pub log_level: Option<LogLevel>,
    // Kubernetes fields (teraslice-k8s.md §3.2). Their defaults (`[]`, `false`) are not written:
    // Teraslice's schema has these fields only on Kubernetes, so native executions lack them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_execution_controller: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_execution_controller: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_requests_cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_limits_cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_requests_memory: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_limits_memory: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ephemeral_storage: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ports: Option<Vec<ExternalPort>>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub pod_spec_override: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prom_metrics_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prom_metrics_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prom_metrics_add_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocatable: Option<bool>,
    /// Keys the schema does not declare, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    Once,
    Persistent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// An operation's config: `_op` plus the op's own keys, kept as JSON for the op to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpConfig(pub Map<String, Value>);

impl OpConfig {
    /// The op name, without any `@asset` suffix.
    pub fn op_name(&self) -> &str {
        let full = self
            .0
            .get("_op")
            .and_then(Value::as_str)
            .unwrap_or_default();
        full.split('@').next().unwrap_or(full)
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
    /// `_api_name` (or legacy `api_name`).
    pub fn api_name(&self) -> Option<&str> {
        self.0
            .get("_api_name")
            .or_else(|| self.0.get("api_name"))
            .and_then(Value::as_str)
    }
}

/// An API config: `_name` plus the API's own keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiConfig(pub Map<String, Value>);

impl ApiConfig {
    pub fn name(&self) -> &str {
        self.0
            .get("_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<TargetConstraint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetConstraint {
    Required,
    Preferred,
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExternalPort {
    Port(u16),
    Named { name: String, port: u16 },
}

impl JobConfig {
    /// The reader (first) operation.
    pub fn reader(&self) -> Option<&OpConfig> {
        self.operations.first()
    }
    /// The processors (every operation after the first).
    pub fn processors(&self) -> &[OpConfig] {
        self.operations.get(1..).unwrap_or_default()
    }
    pub fn api(&self, name: &str) -> Option<&ApiConfig> {
        self.apis.iter().find(|a| a.name() == name)
    }
}
