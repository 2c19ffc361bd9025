//! How the Elasticsearch/OpenSearch store is configured, the Teraslice way: the connector
//! `terafoundation.connectors.<teraslice.state.connection_type>.<teraslice.state.connection>`.
use teraslice_core::config::{
    IndexRolloverFrequency, IndexSettingsConfig, StateConnectionType, SystemConfig,
};
use teraslice_es::{ConfigError, ConnectionConfig};

/// Everything [`super::ElasticsearchStore::open`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticsearchConfig {
    /// `teraslice.name`: the index prefix.
    pub cluster_name: String,
    /// The connector (parsed by teraslice-es, as the elasticsearch ops parse theirs).
    pub connection: ConnectionConfig,
    pub index_settings: IndexSettingsConfig,
    pub rollover: IndexRolloverFrequency,
}

impl ElasticsearchConfig {
    /// Reads the state connector named by `teraslice.state` from `config`.
    pub fn from_system_config(config: &SystemConfig) -> Result<Self, ConfigError> {
        let state = &config.teraslice.state;
        let connector_type = match state.connection_type {
            StateConnectionType::Elasticsearch => "elasticsearch",
            StateConnectionType::ElasticsearchNext => "elasticsearch-next",
            other => {
                return Err(ConfigError {
                    key: "teraslice.state.connection_type".into(),
                    problem: format!(
                        "is {}, not an Elasticsearch/OpenSearch store; allowed here: elasticsearch-next, elasticsearch",
                        other.as_str()
                    ),
                })
            }
        };
        let source = format!(
            "terafoundation.connectors.{connector_type}.{}",
            state.connection
        );
        let Some(connector) = config
            .terafoundation
            .connector(connector_type, &state.connection)
        else {
            let known = config.terafoundation.connector_names(connector_type);
            return Err(ConfigError {
                key: source,
                problem: format!(
                    "is missing (teraslice.state.connection is \"{}\"); configured {connector_type} connectors: [{}]",
                    state.connection,
                    known.join(", ")
                ),
            });
        };
        Ok(ElasticsearchConfig {
            cluster_name: config.teraslice.name.clone(),
            connection: ConnectionConfig::from_connector(&source, connector)?,
            index_settings: config.teraslice.index_settings,
            rollover: config.teraslice.index_rollover_frequency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_connector_lists_the_configured_ones() {
        // The config loader refuses this too; the store must not rely on that.
        let mut config = SystemConfig::default();
        config.teraslice.state.connection = "other".into();
        config.teraslice.state.connection_type = StateConnectionType::ElasticsearchNext;
        let e = ElasticsearchConfig::from_system_config(&config).expect_err("no such connector");
        assert_eq!(e.key, "terafoundation.connectors.elasticsearch-next.other");
        assert!(e.problem.contains("[default]"), "{e}");
    }
}
