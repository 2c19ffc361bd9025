//! The elasticsearch asset (teraslice-assets.md §3–§5, §7): `elasticsearch_reader`, `id_reader`,
//! `elasticsearch_bulk`, and the `elasticsearch_reader_api` / `elasticsearch_sender_api` entries
//! they read their settings from (or the legacy op-level settings).
//!
//! Registered into an [`OpRegistry`] as any asset crate is: [`register`]. Ops find their server
//! in `terafoundation.connectors`: until the registry is [`configured`](OpRegistry::configured)
//! with the system config (or built with [`register_with_connectors`]) they have none, and fail
//! with "no connector …" when they start.
#![warn(missing_docs)]
mod bulk;
mod check;
mod client;
mod connection;
mod date_slicer;
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

use bulk::EsBulk;
use layout::{READER_API, SENDER_API};
use reader::EsReader;
use teraslice_runtime::ops::{ApiContext, ApiFactory, ApiInstance, Asset, OpError, OpRegistry};

/// The asset, as a job's `assets` names it and `GET /assets` shows it.
pub const ASSET: Asset = Asset {
    name: "elasticsearch",
    version: "5.1.6",
    description: "Built-in: Elasticsearch/OpenSearch readers and bulk sender",
    ops: &["elasticsearch_bulk", "elasticsearch_reader", "id_reader"],
    apis: &["elasticsearch_reader_api", "elasticsearch_sender_api"],
};

/// Registers the asset, its ops and APIs (without connectors), and a hook that registers them
/// again with the system config's `terafoundation.connectors`. Register it before `standard`:
/// `routed_sender` sends through `elasticsearch_bulk`.
pub fn register(registry: &mut OpRegistry) {
    registry.register_asset(ASSET);
    register_with_connectors(registry, Map::new());
    registry.on_system_config(|registry, config| {
        register_with_connectors(registry, config.terafoundation.connectors.clone());
    });
}

/// Registers the ops and their APIs, connecting through `connectors`
/// (`terafoundation.connectors`), replacing those registered before. A `routed_sender`
/// registered earlier keeps the `elasticsearch_bulk` it was given: register it again after.
pub fn register_with_connectors(registry: &mut OpRegistry, connectors: Map<String, Value>) {
    let connectors = Arc::new(connectors);
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
