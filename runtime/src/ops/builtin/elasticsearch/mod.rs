//! The elasticsearch asset (teraslice-assets.md §3–§5, §7): `elasticsearch_reader`, `id_reader`,
//! `elasticsearch_bulk`, and the `elasticsearch_reader_api` / `elasticsearch_sender_api` entries
//! they read their settings from (or the legacy op-level settings).
//!
//! Ops find their server in `terafoundation.connectors`, which the runtime does not otherwise
//! see: build the registry with [`OpRegistry::with_connectors`] (the default registry has none,
//! and these ops then fail with "no connector …" when they start).
mod bulk;
mod check;
mod client;
mod connection;
mod date_slicer;
/// Also parses data_generator's `start`/`end`.
pub(crate) mod dates;
mod error;
mod id_slicer;
mod keys;
mod layout;
mod plan;
mod query;
mod reader;
mod reader_config;
mod sender_config;

use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use crate::ops::{ApiContext, ApiFactory, ApiInstance, OpError, OpRegistry};
use bulk::EsBulk;
use layout::{READER_API, SENDER_API};
use reader::EsReader;

/// Registers the ops and their APIs, connecting through `connectors` (`terafoundation.connectors`).
pub fn register(registry: &mut OpRegistry, connectors: Arc<Map<String, Value>>) {
    let reader = |by_id| EsReader {
        connectors: connectors.clone(),
        by_id,
    };
    registry.register_reader("elasticsearch_reader", reader(false));
    registry.register_reader("id_reader", reader(true));
    registry.register_processor(
        "elasticsearch_bulk",
        EsBulk {
            connectors: connectors.clone(),
        },
    );
    registry.register_api(READER_API, SettingsApi { reader: true });
    registry.register_api(SENDER_API, SettingsApi { reader: false });
}

impl OpRegistry {
    /// The built-in ops, with the Elasticsearch ops connecting through `connectors`
    /// (`terafoundation.connectors` of the system config).
    pub fn with_connectors(mut self, connectors: Map<String, Value>) -> Self {
        register(&mut self, Arc::new(connectors));
        // routed_sender holds the elasticsearch_bulk it sends through: give it the connected one.
        crate::ops::builtin::standard::register_routed_sender(&mut self);
        self
    }
}

/// An `elasticsearch_reader_api` / `elasticsearch_sender_api` entry: checked and filled with
/// defaults at job validation; the ops read the entry themselves, so the instance is its config.
struct SettingsApi {
    reader: bool,
}

impl ApiFactory for SettingsApi {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        let name = config.shift_remove("_name");
        let result = if self.reader {
            reader_config::ReaderConfig::parse(config, job).err()
        } else {
            sender_config::SenderConfig::parse(config).err()
        };
        if let Some(name) = name {
            config.insert("_name".into(), name);
        }
        if let Some(connection) = config.shift_remove("connection") {
            config.entry("_connection").or_insert(connection);
        }
        result.unwrap_or_default()
    }

    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError> {
        Ok(Arc::new(ctx.config.clone()))
    }
}
