//! The `terafoundation` section (teraslice-master.md §6.2): connectors, logging, metrics.
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::cpu_count;
use crate::job::LogLevel;

/// `terafoundation.*`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerafoundationConfig {
    /// `{<type>: {<name>: <connector config>}}`, e.g. `elasticsearch-next.default.node`.
    pub connectors: Map<String, Value>,
    /// One level for every destination, or `[{console: <level>}, {file: <level>}]`. Default info.
    pub log_level: LogLevelSetting,
    /// Log destinations. Default `[console]`.
    pub logging: Vec<LogDestination>,
    /// Directory of file logs. Default `$CWD`.
    pub log_path: String,
    /// Unused by Teraslice (it does not start terafoundation workers). Default: the CPU count.
    pub workers: u32,
    /// Prometheus metrics on the master; also the default `metrics` port of jobs. Default false.
    pub prom_metrics_enabled: bool,
    /// Default 3333.
    pub prom_metrics_port: u16,
    /// Default true.
    pub prom_metrics_add_default: bool,
    /// The `url` label of metrics. Default "".
    pub prom_metrics_display_url: String,
    /// Keys we do not know (warned about at load), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TerafoundationConfig {
    /// Names of the connectors of one type (e.g. `elasticsearch-next`), sorted.
    pub fn connector_names(&self, connector_type: &str) -> Vec<String> {
        self.connectors
            .get(connector_type)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// One connector's config.
    pub fn connector(&self, connector_type: &str, name: &str) -> Option<&Value> {
        self.connectors.get(connector_type)?.get(name)
    }
}

impl Default for TerafoundationConfig {
    fn default() -> Self {
        Self {
            connectors: Map::new(),
            log_level: LogLevelSetting::Level(LogLevel::Info),
            logging: vec![LogDestination::Console],
            log_path: super::teraslice::cwd_join(""),
            workers: cpu_count(),
            prom_metrics_enabled: false,
            prom_metrics_port: 3333,
            prom_metrics_add_default: true,
            prom_metrics_display_url: String::new(),
            extra: Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LogLevelSetting {
    Level(LogLevel),
    PerDestination(Vec<BTreeMap<LogDestination, LogLevel>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogDestination {
    Console,
    File,
}
