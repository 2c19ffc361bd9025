//! One constructor for every store kind, so the binary picks a store from config in one place.
use std::path::PathBuf;
use std::sync::Arc;

use teraslice_core::config::{StateConnectionType, SystemConfig};
use teraslice_core::store::{MemoryStore, StateStore, StoreError};

use crate::elasticsearch::{ConfigError, ElasticsearchConfig, ElasticsearchStore};
use crate::sqlite::SqliteStore;

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// In memory, gone when the process exits: tests and the mock backend.
    Memory,
    /// The SQLite file at this path (the binary passes `<teraslice.data_dir>/teraslice.sqlite`).
    Sqlite(PathBuf),
    /// Teraslice's indices on Elasticsearch/OpenSearch (`connection_type: elasticsearch-next`
    /// or `elasticsearch`).
    Elasticsearch(Box<ElasticsearchConfig>),
}

impl StoreKind {
    /// The store `teraslice.state` names: the SQLite file in `teraslice.data_dir`, or the
    /// connector `terafoundation.connectors.<connection_type>.<connection>`.
    pub fn from_system_config(config: &SystemConfig) -> Result<Self, ConfigError> {
        match config.teraslice.state.connection_type {
            StateConnectionType::Sqlite => Ok(StoreKind::Sqlite(SqliteStore::path_in_data_dir(
                &config.teraslice.data_dir,
            ))),
            StateConnectionType::ElasticsearchNext | StateConnectionType::Elasticsearch => {
                Ok(StoreKind::Elasticsearch(Box::new(
                    ElasticsearchConfig::from_system_config(config)?,
                )))
            }
        }
    }
}

/// Opens (creating and migrating when needed) the store of `kind`.
pub async fn open_store(kind: StoreKind) -> Result<Arc<dyn StateStore>, StoreError> {
    match kind {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::new())),
        StoreKind::Sqlite(path) => {
            // Opening may wait on another process's write lock: keep it off the async runtime.
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| StoreError::Unavailable(format!("opening the SQLite store: {e}")))??;
            Ok(Arc::new(store))
        }
        StoreKind::Elasticsearch(config) => Ok(Arc::new(ElasticsearchStore::open(*config).await?)),
    }
}
