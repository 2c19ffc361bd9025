//! `Record`: Teraslice's DataEntity, a JSON value with a metadata map beside it.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Metadata keys Teraslice sets on a DataEntity.
pub const KEY: &str = "_key";
pub const CREATE_TIME: &str = "_createTime";
pub const INGEST_TIME: &str = "_ingestTime";
pub const PROCESS_TIME: &str = "_processTime";
pub const EVENT_TIME: &str = "_eventTime";

/// One record flowing through a slice's pipeline: the data plus metadata that is not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub data: Value,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// Teraslice's name for a record.
pub type DataEntity = Record;

impl Record {
    /// A record with `_createTime` set to now (epoch ms), as `DataEntity.make` does.
    pub fn new(data: Value) -> Self {
        let mut metadata = Map::new();
        metadata.insert(
            CREATE_TIME.into(),
            Value::from(chrono::Utc::now().timestamp_millis()),
        );
        Record { data, metadata }
    }
    pub fn with_key(data: Value, key: impl Into<String>) -> Self {
        let mut r = Record::new(data);
        r.set_key(key);
        r
    }
    pub fn key(&self) -> Option<&str> {
        self.metadata.get(KEY).and_then(Value::as_str)
    }
    pub fn set_key(&mut self, key: impl Into<String>) {
        self.metadata.insert(KEY.into(), Value::String(key.into()));
    }
    /// `_createTime` in epoch ms.
    pub fn create_time(&self) -> Option<i64> {
        self.metadata.get(CREATE_TIME).and_then(Value::as_i64)
    }
    pub fn get_metadata(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }
    pub fn set_metadata(&mut self, key: impl Into<String>, value: Value) {
        self.metadata.insert(key.into(), value);
    }
    pub fn into_data(self) -> Value {
        self.data
    }
}

impl From<Value> for Record {
    fn from(data: Value) -> Self {
        Record::new(data)
    }
}
