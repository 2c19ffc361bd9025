//! teraslice-storage: the `StateStore` implementations. SQLite ([`SqliteStore`]) is the embedded
//! default, one file shared by the master, execution controller and worker processes on one
//! machine; an Elasticsearch/OpenSearch store will sit beside it in `elasticsearch/`.
mod open;
pub mod sqlite;

pub use open::{open_store, StoreKind};
pub use sqlite::{SqliteOpenError, SqliteStore, SQLITE_FILE_NAME};
