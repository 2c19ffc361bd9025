//! The destinations `routed_sender` sends to: a small [`RouteSender`] trait, and the sender APIs
//! that provide it by running their sender op (`file_exporter` for `file_sender_api`,
//! `elasticsearch_bulk` for `elasticsearch_sender_api`, `kafka_sender` for `kafka_sender_api`)
//! with per-route overrides.
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::{ApiConfig, OpConfig};

use teraslice_runtime::ops::{
    api_module_name, BatchProcessor, OpContext, OpError, ProcessorFactory, Record,
};

/// Sends the records of one route to its destination.
#[async_trait]
pub trait RouteSender: Send {
    /// Sends one batch of the route's records.
    async fn send(&mut self, records: Vec<Record>) -> Result<(), OpError>;
}

/// Where one route goes: the api entry, the route (metadata value) and the connection.
pub struct Destination<'a> {
    /// The job's sender API entry.
    pub api: &'a ApiConfig,
    /// The route (metadata `standard:route` value).
    pub route: &'a str,
    /// The routing table's key the route matched (`*` and `**` included).
    pub key: &'a str,
    /// The routing table's value, when it names a connection (not an api entry).
    pub connection: Option<&'a str>,
}

/// Builds [`RouteSender`]s for one sender API module.
pub trait SenderBackend: Send + Sync {
    /// Whether each route value needs its own sender (a dynamic destination such as an index
    /// per route), rather than one per routing key.
    fn per_route(&self) -> bool;
    /// A sender for one destination.
    fn create(
        &self,
        ctx: &OpContext,
        to: &Destination<'_>,
    ) -> Result<Box<dyn RouteSender>, OpError>;
}

/// The sender APIs `routed_sender` can route to, by module name.
pub type Backends = BTreeMap<&'static str, Arc<dyn SenderBackend>>;

/// A sender API whose op does the sending.
pub struct OpBackend {
    /// The sender op (`elasticsearch_bulk`, `file_exporter`).
    pub op: &'static str,
    /// That op's factory.
    pub factory: Arc<dyn ProcessorFactory>,
    /// Elasticsearch: `_connection` from the routing table and the index `<index>-<route>`.
    pub dynamic_index: bool,
    /// Kafka: `_connection` from the routing table and the routing key as this op-level key
    /// (`kafka_sender` then sends to `<topic>-<key>`, or by each record's route for `**`).
    pub routing_key: Option<&'static str>,
}

impl SenderBackend for OpBackend {
    fn per_route(&self) -> bool {
        self.dynamic_index
    }
    fn create(
        &self,
        ctx: &OpContext,
        to: &Destination<'_>,
    ) -> Result<Box<dyn RouteSender>, OpError> {
        let mut config = Map::new();
        config.insert("_op".into(), Value::from(self.op));
        config.insert("_api_name".into(), Value::from(to.api.name()));
        for key in ["_encoding", "_dead_letter_action"] {
            if let Some(v) = ctx.config.get(key) {
                config.insert(key.into(), v.clone());
            }
        }
        if let (true, Some(connection)) = (self.dynamic_index, to.connection) {
            config.insert("_connection".into(), Value::from(connection));
            let index = to
                .api
                .get("index")
                .and_then(Value::as_str)
                .unwrap_or_default();
            config.insert("index".into(), Value::from(format!("{index}-{}", to.route)));
        }
        if let Some(field) = self.routing_key {
            config.insert(field.into(), Value::from(to.key));
            if let Some(connection) = to.connection.filter(|c| !c.is_empty()) {
                config.insert("_connection".into(), Value::from(connection));
            }
        }
        let mut op_ctx = ctx.clone();
        op_ctx.config = OpConfig(config);
        let processor = self.factory.processor(&op_ctx).map_err(|e| {
            e.context(format!(
                "routed_sender route \"{}\" ({})",
                to.route,
                to.api.name()
            ))
        })?;
        Ok(Box::new(OpSender {
            processor,
            ready: false,
        }))
    }
}

struct OpSender {
    processor: Box<dyn BatchProcessor>,
    ready: bool,
}

#[async_trait]
impl RouteSender for OpSender {
    async fn send(&mut self, records: Vec<Record>) -> Result<(), OpError> {
        if !self.ready {
            self.processor.initialize().await?;
            self.ready = true;
        }
        self.processor.on_batch(records).await.map(drop)
    }
}

/// Whether a routing value names a sender api entry (`file_sender_api:a`) rather than a
/// connection.
pub fn names_api(value: &str) -> bool {
    api_module_name(value).ends_with("_sender_api")
}
