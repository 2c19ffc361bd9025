//! `noop`: passes records through.
use async_trait::async_trait;

use crate::ops::{
    BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

/// `noop`: passes records through unchanged (Teraslice's built-in op).
pub struct Noop;

struct NoopProcessor;

impl ProcessorFactory for Noop {
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(NoopProcessor))
    }
}

impl OperationLifecycle for NoopProcessor {}

#[async_trait]
impl BatchProcessor for NoopProcessor {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        Ok(batch)
    }
}
