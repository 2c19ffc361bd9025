//! `collect`: accumulates records across slices and emits them in batches of `size`, or
//! whatever it holds once `wait` has passed since the first held record (Teraslice `Collector`).
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use crate::ops::fields::{self, ConfigCheck};
use crate::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

/// `collect`: gathers records across slices into batches of `size` (Teraslice's built-in op).
pub struct Collect;

struct CollectProcessor {
    size: Option<usize>,
    wait: Option<Duration>,
    held: Vec<Record>,
    since: Option<Instant>,
    flushing: bool,
}

impl ProcessorFactory for Collect {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        ConfigCheck::new(config)
            .positive_int("size", None)
            .duration("wait", None)
            .finish()
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let size = fields::positive_int(&ctx.config, "size")?
            .map(|s| usize::try_from(s).unwrap_or(usize::MAX));
        let wait = fields::duration(&ctx.config, "wait")?.map(Duration::from_millis);
        Ok(Box::new(CollectProcessor {
            size,
            wait,
            held: Vec::new(),
            since: None,
            flushing: false,
        }))
    }
}

impl CollectProcessor {
    fn ready(&self) -> bool {
        match (self.size, self.wait) {
            (None, None) => true,
            (size, wait) => {
                size.is_some_and(|s| self.held.len() >= s)
                    || wait.zip(self.since).is_some_and(|(w, t)| t.elapsed() >= w)
            }
        }
    }
}

#[async_trait]
impl OperationLifecycle for CollectProcessor {
    async fn on_flush_start(&mut self) -> Result<(), OpError> {
        self.flushing = true;
        Ok(())
    }
    async fn on_flush_end(&mut self) -> Result<(), OpError> {
        self.flushing = false;
        Ok(())
    }
    async fn shutdown(&mut self) -> Result<(), OpError> {
        if self.held.is_empty() {
            Ok(())
        } else {
            Err(OpError::new(format!(
                "Collect is shutdown with {} unprocessed records",
                self.held.len()
            )))
        }
    }
}

#[async_trait]
impl BatchProcessor for CollectProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        if self.since.is_none() && !batch.is_empty() {
            self.since = Some(Instant::now());
        }
        self.held.extend(batch);
        if self.flushing {
            self.since = None;
            return Ok(std::mem::take(&mut self.held));
        }
        if !self.ready() {
            return Ok(Vec::new());
        }
        let n = self.size.unwrap_or(self.held.len()).min(self.held.len());
        let out: Vec<Record> = self.held.drain(..n).collect();
        self.since = if self.held.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records(n: usize) -> Vec<Record> {
        (0..n).map(|i| Record::new(json!({ "i": i }))).collect()
    }

    #[tokio::test]
    async fn emits_batches_of_size_and_flushes_the_rest() -> Result<(), OpError> {
        let mut c = CollectProcessor {
            size: Some(5),
            wait: None,
            held: Vec::new(),
            since: None,
            flushing: false,
        };
        assert!(c.on_batch(records(3)).await?.is_empty());
        assert_eq!(c.on_batch(records(3)).await?.len(), 5);
        assert!(c.shutdown().await.is_err(), "one record is still held");
        c.on_flush_start().await?;
        assert_eq!(c.on_batch(Vec::new()).await?.len(), 1);
        c.shutdown().await
    }
}
