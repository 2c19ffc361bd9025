//! The kafka asset (teraslice-kafka-s3.md §1–§6): `kafka_reader`, `kafka_sender`, and the
//! `kafka_reader_api` / `kafka_sender_api` / `kafka_dead_letter` entries, on librdkafka (rdkafka).
//!
//! Registered into an [`OpRegistry`] as any asset crate is: [`register`]. Ops find their brokers
//! in `terafoundation.connectors.kafka`: until the registry is
//! [`configured`](OpRegistry::configured) with the system config (or built with
//! [`register_with_connectors`]) they have none, and fail with "no connector …" when they start.
#![warn(missing_docs)]
mod connector;
mod dead_letter;
mod error;
mod reader;
mod reader_config;
mod reader_metrics;
mod sender;
mod sender_config;
mod settings;

use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{ApiContext, ApiFactory, ApiInstance, Asset, OpError, OpRegistry};

pub use error::KafkaError;
pub use sender::{METADATA_TIMEOUT, ROUTE_KEY};

/// The asset, as a job's `assets` names it and `GET /assets` shows it (any version satisfies it).
pub const ASSET: Asset = Asset {
    name: "kafka",
    version: "6.9.0",
    description: "Built-in: Kafka reader, sender and dead-letter queue (librdkafka)",
    ops: &["kafka_reader", "kafka_sender"],
    apis: &["kafka_dead_letter", "kafka_reader_api", "kafka_sender_api"],
};

/// Registers the asset, its ops and APIs (without connectors), and a hook that registers them
/// again with the system config's `terafoundation.connectors`. Register it before `standard`:
/// `routed_sender` sends through `kafka_sender`.
pub fn register(registry: &mut OpRegistry) {
    registry.register_asset(ASSET);
    register_with_connectors(registry, Map::new());
    registry.on_system_config(|registry, config| {
        register_with_connectors(registry, config.terafoundation.connectors.clone());
    });
}

/// Registers the ops and their APIs, connecting through `connectors`
/// (`terafoundation.connectors`), replacing those registered before.
pub fn register_with_connectors(registry: &mut OpRegistry, connectors: Map<String, Value>) {
    let connectors = Arc::new(connectors);
    registry.register_processor(
        "kafka_sender",
        sender::KafkaSender {
            connectors: connectors.clone(),
        },
    );
    registry.register_reader(
        "kafka_reader",
        reader::KafkaReader {
            connectors: connectors.clone(),
        },
    );
    registry.register_api("kafka_sender_api", SettingsApi { kind: Kind::Sender });
    registry.register_api("kafka_reader_api", SettingsApi { kind: Kind::Reader });
    registry.register_api(
        "kafka_dead_letter",
        dead_letter::DeadLetterApi { connectors },
    );
}

#[derive(Clone, Copy)]
enum Kind {
    Reader,
    Sender,
}

/// A `kafka_*_api` entry: checked and filled with defaults at job validation; the ops read the
/// entry themselves, so the instance is its config.
struct SettingsApi {
    kind: Kind,
}

impl ApiFactory for SettingsApi {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        let name = config.shift_remove("_name");
        if let Some(c) = config.shift_remove("connection") {
            config.entry("_connection").or_insert(c);
        }
        let errors = match self.kind {
            Kind::Reader => reader_config::ReaderConfig::parse(config).err(),
            Kind::Sender => sender_config::SenderConfig::parse(config).err(),
        };
        if let Some(name) = name {
            config.insert("_name".into(), name);
        }
        errors.unwrap_or_default()
    }

    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError> {
        Ok(Arc::new(ctx.config.clone()))
    }
}
