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
/// `_createTime`, which every record has, is kept beside the map (read it with
/// [`Record::get_metadata`]), so a record with no other metadata allocates no map: with
/// serde_json's `preserve_order` a map costs a hash table per record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RecordWire", into = "RecordWire")]
pub struct Record {
    pub data: Value,
    /// Metadata other than `_createTime`.
    pub metadata: Map<String, Value>,
    pub(crate) create_time: Value,
}

/// A record as serialized: `{data, metadata}` with `_createTime` in `metadata`.
#[derive(Serialize, Deserialize)]
struct RecordWire {
    data: Value,
    #[serde(default)]
    metadata: Map<String, Value>,
}

impl From<RecordWire> for Record {
    fn from(mut w: RecordWire) -> Self {
        let create_time = w.metadata.shift_remove(CREATE_TIME).unwrap_or(Value::Null);
        Record {
            data: w.data,
            metadata: w.metadata,
            create_time,
        }
    }
}

impl From<Record> for RecordWire {
    fn from(r: Record) -> Self {
        let mut metadata = r.metadata;
        if !r.create_time.is_null() {
            metadata.insert(CREATE_TIME.into(), r.create_time);
        }
        RecordWire {
            data: r.data,
            metadata,
        }
    }
}

/// Teraslice's name for a record.
pub type DataEntity = Record;

impl Record {
    /// A record with `_createTime` set to now (epoch ms), as `DataEntity.make` does.
    pub fn new(data: Value) -> Self {
        Record {
            data,
            metadata: Map::new(),
            create_time: Value::from(chrono::Utc::now().timestamp_millis()),
        }
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
        self.get_metadata(CREATE_TIME).and_then(Value::as_i64)
    }
    pub fn get_metadata(&self, key: &str) -> Option<&Value> {
        match self.metadata.get(key) {
            None if key == CREATE_TIME && !self.create_time.is_null() => Some(&self.create_time),
            found => found,
        }
    }
    pub fn set_metadata(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if key == CREATE_TIME {
            self.metadata.shift_remove(CREATE_TIME);
            self.create_time = value;
        } else {
            self.metadata.insert(key, value);
        }
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
