//! Teraslice's `standard` asset: `data_generator`, `stdout`, the record transforms
//! (teraslice-assets.md §6), one file each, and `routed_sender` (§2.3). Routers write metadata
//! `standard:route`; `set_key`, `add_key` and `dedupe` read or write `_key`. Registered into an
//! [`OpRegistry`] as any asset crate is: [`register`].
#![warn(missing_docs)]
mod add_key;
mod add_key_hash;
mod check;
mod count_by_field;
mod data_generator;
mod date_router;
mod debug_routes;
mod dedupe;
mod drop_field;
mod field_router;
mod filter;
mod filter_match;
mod hash_router;
mod json_parser;
mod key_router;
mod remove_empty_fields;
pub mod route_senders;
mod routed_sender;
mod set_field;
mod set_key;
mod sort;
mod stdout;
mod value;

use std::sync::Arc;

use serde_json::Value;

use route_senders::{Backends, OpBackend};
use teraslice_runtime::ops::record::KEY;
use teraslice_runtime::ops::{Asset, OpError, OpRegistry, Record};

/// The metadata key the router ops write and `routed_sender` reads.
pub const ROUTE: &str = "standard:route";

/// `String(record._key)`; a record without `_key` is an error (Teraslice throws).
fn key_string(r: &Record, op: &str, index: usize) -> Result<String, OpError> {
    match r.get_metadata(KEY) {
        None | Some(Value::Null) => Err(OpError::non_retryable(format!(
            "{op}: record {index} of the slice has no metadata _key (set it with set_key or add_key first)"
        ))),
        Some(v) => Ok(value::js_string(v)),
    }
}

/// The asset, as a job's `assets` names it and `GET /assets` shows it.
pub const ASSET: Asset = Asset {
    name: "standard",
    version: "2.1.2",
    description: "Built-in: data_generator, stdout and the standard record transforms and routers",
    ops: &[
        "add_key",
        "count_by_field",
        "data_generator",
        "date_router",
        "debug_routes",
        "dedupe",
        "drop_field",
        "field_router",
        "filter",
        "hash_router",
        "json_parser",
        "key_router",
        "remove_empty_fields",
        "routed_sender",
        "set_field",
        "set_key",
        "sort",
        "stdout",
    ],
    apis: &[],
};

/// Registers the asset and its ops. Register it after the assets whose sender ops
/// (`file_exporter`, `s3_exporter`, `elasticsearch_bulk`) `routed_sender` sends through; it registers a hook
/// that gives `routed_sender` those ops again once the system config has configured them.
pub fn register(registry: &mut OpRegistry) {
    registry.register_asset(ASSET);
    data_generator::register(registry);
    registry.register_processor("stdout", stdout::Stdout);
    registry.register_processor("add_key", add_key::AddKey);
    registry.register_processor("count_by_field", count_by_field::CountByField);
    registry.register_processor("date_router", date_router::DateRouter);
    registry.register_processor("debug_routes", debug_routes::DebugRoutes);
    registry.register_processor("dedupe", dedupe::Dedupe);
    registry.register_processor("drop_field", drop_field::DropField);
    registry.register_processor("field_router", field_router::FieldRouter);
    registry.register_processor("filter", filter::Filter);
    registry.register_processor("hash_router", hash_router::HashRouter);
    registry.register_processor("json_parser", json_parser::JsonParser);
    registry.register_processor("key_router", key_router::KeyRouter);
    registry.register_processor(
        "remove_empty_fields",
        remove_empty_fields::RemoveEmptyFields,
    );
    registry.register_processor("set_field", set_field::SetField);
    registry.register_processor("set_key", set_key::SetKey);
    registry.register_processor("sort", sort::Sort);
    register_routed_sender(registry);
    registry.on_system_config(|registry, _| register_routed_sender(registry));
}

/// (Re-)registers `routed_sender` over the sender ops the registry has now; call again after
/// replacing them (e.g. `elasticsearch_bulk` built with connectors).
pub fn register_routed_sender(registry: &mut OpRegistry) {
    let mut backends = Backends::new();
    for (module, op, dynamic_index, routing_key) in [
        ("file_sender_api", "file_exporter", false, None),
        ("s3_sender_api", "s3_exporter", false, None),
        ("elasticsearch_sender_api", "elasticsearch_bulk", true, None),
        // kafka_sender's `_key`: `<topic>-<routing key>`, `**` = `<topic>-<record's route>`.
        ("kafka_sender_api", "kafka_sender", false, Some("_key")),
    ] {
        if let Ok(factory) = registry.processor(op) {
            let backend = OpBackend {
                op,
                factory,
                dynamic_index,
                routing_key,
            };
            backends.insert(module, Arc::new(backend));
        }
    }
    registry.register_processor("routed_sender", routed_sender::RoutedSender { backends });
}
