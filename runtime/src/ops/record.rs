//! `Record`: Teraslice's DataEntity, a JSON value with a metadata map beside it.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Metadata `_key`: the record's key (`set_key`, the routers, `elasticsearch_bulk`'s document id).
pub const KEY: &str = "_key";
/// Metadata `_createTime`: when the record was made (epoch ms).
pub const CREATE_TIME: &str = "_createTime";
/// Metadata `_ingestTime`: when the data was ingested (epoch ms), if a reader sets it.
pub const INGEST_TIME: &str = "_ingestTime";
/// Metadata `_processTime`: when the record was processed (epoch ms), if an op sets it.
pub const PROCESS_TIME: &str = "_processTime";
/// Metadata `_eventTime`: when the event the record describes happened (epoch ms), if known.
pub const EVENT_TIME: &str = "_eventTime";

/// One record flowing through a slice's pipeline: the data plus metadata that is not part of it.
/// `_createTime`, which every record has, is kept beside the map (read it with
/// [`Record::get_metadata`]), so a record with no other metadata allocates no map: with
/// serde_json's `preserve_order` a map costs a hash table per record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RecordWire", into = "RecordWire")]
pub struct Record {
    /// The record itself, as the ops see and change it.
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
    /// A new record with `_key` set.
    pub fn with_key(data: Value, key: impl Into<String>) -> Self {
        let mut r = Record::new(data);
        r.set_key(key);
        r
    }
    /// `_key`, when it is a string.
    pub fn key(&self) -> Option<&str> {
        self.metadata.get(KEY).and_then(Value::as_str)
    }
    /// Sets `_key`.
    pub fn set_key(&mut self, key: impl Into<String>) {
        self.metadata.insert(KEY.into(), Value::String(key.into()));
    }
    /// `_createTime` in epoch ms.
    pub fn create_time(&self) -> Option<i64> {
        self.get_metadata(CREATE_TIME).and_then(Value::as_i64)
    }
    /// A metadata value (`_createTime` included).
    pub fn get_metadata(&self, key: &str) -> Option<&Value> {
        match self.metadata.get(key) {
            None if key == CREATE_TIME && !self.create_time.is_null() => Some(&self.create_time),
            found => found,
        }
    }
    /// Sets a metadata value (`_createTime` included).
    pub fn set_metadata(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if key == CREATE_TIME {
            self.metadata.shift_remove(CREATE_TIME);
            self.create_time = value;
        } else {
            self.metadata.insert(key, value);
        }
    }
    /// The data, without the metadata.
    pub fn into_data(self) -> Value {
        self.data
    }
}

impl From<Value> for Record {
    fn from(data: Value) -> Self {
        Record::new(data)
    }
}
