//! `delay`: waits `ms` (default 100) per batch, then passes the records through.
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use crate::ops::fields::{self, ConfigCheck};
use crate::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

const DEFAULT_MS: u64 = 100;

/// `delay`: waits `ms` per slice, passing records through (Teraslice's built-in op).
pub struct Delay;

struct DelayProcessor {
    wait: Duration,
}

impl ProcessorFactory for Delay {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        ConfigCheck::new(config)
            .duration("ms", Some(DEFAULT_MS))
            .finish()
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let ms = fields::duration(&ctx.config, "ms")?.unwrap_or(DEFAULT_MS);
        Ok(Box::new(DelayProcessor {
            wait: Duration::from_millis(ms),
        }))
    }
}

impl OperationLifecycle for DelayProcessor {}

#[async_trait]
impl BatchProcessor for DelayProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        tokio::time::sleep(self.wait).await;
        Ok(batch)
    }
}
