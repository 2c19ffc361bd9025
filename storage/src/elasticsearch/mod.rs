//! `ElasticsearchStore`: the `StateStore` on Elasticsearch 7/8 or OpenSearch 1/2, with Teraslice's
//! index names, fields and mappings, so an existing Teraslice cluster's state reads back.
//!
//! The connector config and the HTTP client (one client for OpenSearch and Elasticsearch 7 and 8,
//! headers chosen from the server's `GET /` answer) come from teraslice-es, shared with the
//! elasticsearch ops.
mod bulk;
mod config;
mod docs;
mod error;
mod exclusive;
mod executions;
mod jobs;
mod mappings;
mod setup;
mod slices;
mod state_store;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

pub use config::ElasticsearchConfig;
pub use error::ElasticsearchOpenError;
pub use mappings::StoreIndex;
pub use teraslice_es::{Auth, ConfigError, ConnectionConfig, Distribution, ServerInfo};

use error::EsError;

/// The shared client, failing with the store's error (so `?` makes a `StoreError`).
type EsClient = teraslice_es::EsClient<EsError>;

/// Retries of one request: 0.2 s doubling, at most 5 s (docs/configuration.md).
const BACKOFF: teraslice_es::Backoff = teraslice_es::Backoff {
    first: Duration::from_millis(200),
    max: Duration::from_secs(5),
    user: "state store",
};

/// The `StateStore` on Elasticsearch/OpenSearch. Cheap to clone; clones share one HTTP client.
#[derive(Clone)]
pub struct ElasticsearchStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: EsClient,
    server: ServerInfo,
    config: ElasticsearchConfig,
    /// Dated state/analytics indices known to exist, so each is created once per process.
    known_indices: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for ElasticsearchStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticsearchStore")
            .field("cluster_name", &self.inner.config.cluster_name)
            .field("nodes", &self.inner.client.nodes())
            .field("server", &self.inner.server)
            .finish()
    }
}

impl ElasticsearchStore {
    /// Connects (retrying an unreachable server for up to `startupTimeout`), detects the server,
    /// then creates the indices and templates that are missing and checks the existing ones'
    /// mappings.
    pub async fn open(config: ElasticsearchConfig) -> Result<Self, ElasticsearchOpenError> {
        let client = EsClient::new(&config.connection, BACKOFF).map_err(|e| {
            ElasticsearchOpenError::Client {
                source_key: config.connection.source.clone(),
                problem: e.to_string(),
            }
        })?;
        let server = setup::wait_for_server(&client, &config.connection).await?;
        client.adapt_to(&server);
        tracing::info!(%server, cluster_name = %config.cluster_name, "connected to the state store");
        let store = ElasticsearchStore {
            inner: Arc::new(Inner {
                client,
                server,
                config,
                known_indices: Mutex::new(HashSet::new()),
            }),
        };
        store.create_indices().await?;
        Ok(store)
    }

    /// What answered `GET /`.
    pub fn server(&self) -> &ServerInfo {
        &self.inner.server
    }

    /// `teraslice.name`, the index prefix.
    pub fn cluster_name(&self) -> &str {
        &self.inner.config.cluster_name
    }

    /// The concrete index of a non-time-series store, or the `*` pattern of a time-series one.
    pub fn index_pattern(&self, index: StoreIndex) -> String {
        index.pattern(&self.inner.config.cluster_name)
    }

    fn client(&self) -> &EsClient {
        &self.inner.client
    }
}
