//! `test-reader`: Teraslice's test reader. The slicer hands out the requests of
//! `slicer_data_file_path` (default: 10 `{start, end}` ranges); the fetcher returns the records of
//! `fetcher_data_file_path` (default: 187 generated records), or with `passthrough_slice` the
//! slice request itself, which must then be an array.
//! Fixed on purpose: in `persistent` mode the slicer cycles through every request; Teraslice's
//! never returned the first one again.
use std::collections::VecDeque;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use teraslice_core::job::{Lifecycle, OpConfig, ValidationError};

use crate::ops::fields::{self, ConfigCheck};
use crate::ops::{
    Fetcher, OpContext, OpError, OperationLifecycle, ReaderFactory, Record, SliceRequest, Slicer,
};

/// `test-reader`: Teraslice's test reader (see the module docs).
pub struct TestReader;

const DEFAULT_RECORDS: usize = 187;
const DEFAULT_REQUESTS: u64 = 10;

impl ReaderFactory for TestReader {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        ConfigCheck::new(config)
            .optional_string("fetcher_data_file_path")
            .optional_string("slicer_data_file_path")
            .bool("passthrough_slice", false)
            .finish()
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let requests = match fields::string(&ctx.config, "slicer_data_file_path")? {
            Some(path) => read_json_array(&ctx.config, "slicer_data_file_path", &path)?,
            None => (0..DEFAULT_REQUESTS)
                .map(|i| json!({ "start": i * 10, "end": (i + 1) * 10 }))
                .collect(),
        };
        Ok(vec![Box::new(TestSlicer {
            requests: requests.into(),
            position: 0,
            persistent: ctx.job.lifecycle == Lifecycle::Persistent,
        })])
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        let passthrough = fields::bool(&ctx.config, "passthrough_slice")?.unwrap_or(false);
        let data = match fields::string(&ctx.config, "fetcher_data_file_path")? {
            Some(path) => read_json_array(&ctx.config, "fetcher_data_file_path", &path)?,
            None => default_records(),
        };
        Ok(Box::new(TestFetcher { data, passthrough }))
    }
}

fn read_json_array(cfg: &OpConfig, key: &str, path: &str) -> Result<Vec<Value>, OpError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        OpError::non_retryable(format!(
            "op \"{}\" field \"{key}\": cannot read \"{path}\": {e}",
            cfg.op_name()
        ))
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(OpError::non_retryable(format!(
            "op \"{}\" field \"{key}\": \"{path}\" must hold a JSON array",
            cfg.op_name()
        ))),
        Err(e) => Err(OpError::non_retryable(format!(
            "op \"{}\" field \"{key}\": \"{path}\" is not valid JSON: {e}",
            cfg.op_name()
        ))),
    }
}

fn default_records() -> Vec<Value> {
    (0..DEFAULT_RECORDS)
        .map(|i| {
            json!({
                "id": format!("{i:08x}-test"),
                "name": format!("name-{i}"),
                "ip": format!("10.0.{}.{}", i / 256, i % 256),
                "url": format!("http://example.com/{i}"),
                "created": format!("2019-01-01T00:{:02}:{:02}.000Z", (i / 60) % 60, i % 60),
            })
        })
        .collect()
}

struct TestSlicer {
    requests: VecDeque<Value>,
    position: usize,
    persistent: bool,
}

#[async_trait]
impl Slicer for TestSlicer {
    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        if !self.persistent {
            return Ok(self.requests.pop_front());
        }
        if self.requests.is_empty() {
            return Ok(None);
        }
        let req = self.requests.get(self.position).cloned();
        self.position = (self.position + 1) % self.requests.len();
        Ok(req)
    }
}

struct TestFetcher {
    data: Vec<Value>,
    passthrough: bool,
}

impl OperationLifecycle for TestFetcher {}

#[async_trait]
impl Fetcher for TestFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        if !self.passthrough {
            return Ok(self.data.iter().cloned().map(Record::new).collect());
        }
        match request {
            Value::Array(items) => Ok(items.iter().cloned().map(Record::new).collect()),
            other => Err(OpError::non_retryable(format!(
                "test-reader with passthrough_slice: the slice request must be an array, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn persistent_slicer_cycles_through_every_request() -> Result<(), OpError> {
        let mut s = TestSlicer {
            requests: vec![json!(1), json!(2)].into(),
            position: 0,
            persistent: true,
        };
        let got = [s.slice().await?, s.slice().await?, s.slice().await?];
        assert_eq!(got, [Some(json!(1)), Some(json!(2)), Some(json!(1))]);
        Ok(())
    }

    #[tokio::test]
    async fn once_slicer_ends_and_default_data_has_187_records() -> Result<(), OpError> {
        let mut s = TestSlicer {
            requests: vec![json!(1)].into(),
            position: 0,
            persistent: false,
        };
        assert_eq!(s.slice().await?, Some(json!(1)));
        assert_eq!(s.slice().await?, None);
        assert_eq!(default_records().len(), 187);
        Ok(())
    }
}
