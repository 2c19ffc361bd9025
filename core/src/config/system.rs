//! [`SystemConfig`]: the whole config file, how it is loaded, and what job validation needs of it.
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

use super::{TerafoundationConfig, TerasliceConfig};
use crate::job::validate::{JobValidationContext, OpCatalog, ValidationError};

/// The system config a master, execution controller or worker runs with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemConfig {
    pub terafoundation: TerafoundationConfig,
    pub teraslice: TerasliceConfig,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {origin} is not valid YAML: {message}")]
    Yaml { origin: String, message: String },
    /// Every bad value, each named by its full key (e.g. `teraslice.port`).
    #[error("invalid system config: {}", Problems(.0))]
    Invalid(Vec<ValidationError>),
}

struct Problems<'a>(&'a [ValidationError]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Default for SystemConfig {
    /// Teraslice's built-in config, used when no file is given: a master named `teracluster` with
    /// an `elasticsearch-next` connector on localhost:9200 and a `kafka` one on localhost:9092.
    /// (An empty file instead gives the plain schema defaults, where `master` is false.)
    fn default() -> Self {
        let mut config = Self {
            terafoundation: TerafoundationConfig::default(),
            teraslice: TerasliceConfig::default(),
        };
        config.teraslice.master = true;
        if let Value::Object(connectors) = json!({
            "elasticsearch-next": {"default": {"node": ["localhost:9200"]}},
            "kafka": {"default": {"brokers": ["localhost:9092"]}},
        }) {
            config.terafoundation.connectors = connectors;
        }
        config
    }
}

/// The YAML error with where it is: some of serde_yaml's messages (e.g. "found character that
/// cannot start any token") leave the line and column out of their text.
fn located(e: &serde_yaml::Error) -> String {
    let message = e.to_string();
    match e.location() {
        Some(at) if !message.contains(" line ") => {
            format!("{message} at line {} column {}", at.line(), at.column())
        }
        _ => message,
    }
}

impl SystemConfig {
    /// Parses a YAML config. Unknown keys are logged as warnings; every bad value is reported.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
        Self::parse_yaml(yaml, "<string>")
    }

    /// Reads and parses a YAML config file (the `-c` option).
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_yaml(&text, &path.display().to_string())
    }

    /// Builds a config from an already-parsed document (YAML or JSON).
    pub fn from_value(doc: &Value) -> Result<Self, ConfigError> {
        super::parse::system_config(doc).map_err(ConfigError::Invalid)
    }

    fn parse_yaml(yaml: &str, origin: &str) -> Result<Self, ConfigError> {
        let doc: Value = if yaml.trim().is_empty() {
            Value::Null
        } else {
            serde_yaml::from_str(yaml).map_err(|e| ConfigError::Yaml {
                origin: origin.to_string(),
                message: located(&e),
            })?
        };
        Self::from_value(&doc)
    }

    /// What job validation needs to know about this cluster. `ops` is the runtime's operation
    /// registry (`None` skips op checks).
    pub fn validation_context(&self, ops: Option<Arc<dyn OpCatalog>>) -> JobValidationContext {
        JobValidationContext {
            cluster_manager_type: self.teraslice.cluster_manager_type.clone(),
            cpu_count: usize::try_from(super::cpu_count()).unwrap_or(1),
            kubernetes_overrides_enabled: self.teraslice.kubernetes_overrides_enabled,
            connectors: self.terafoundation.connectors.clone(),
            ops,
        }
    }
}
