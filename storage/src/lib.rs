//! teraslice-storage: the `StateStore` implementations. SQLite ([`SqliteStore`]) is the embedded
//! default, one file shared by the master, execution controller and worker processes on one
//! machine; [`ElasticsearchStore`] keeps Teraslice's indices on Elasticsearch/OpenSearch.
pub mod elasticsearch;
mod open;
pub mod sqlite;

pub use elasticsearch::{ElasticsearchConfig, ElasticsearchOpenError, ElasticsearchStore};
pub use open::{open_store, StoreKind};
pub use sqlite::{FreshFile, SqliteOpenError, SqliteStore, SQLITE_FILE_NAME};
