//! `stdout`: prints each record's data as one JSON line and passes the batch through.
use std::io::Write;

use teraslice_runtime::ops::{
    BatchProcessor, Each, EachProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

/// `stdout`: prints each slice's records, passing them on (Teraslice's built-in op).
pub struct Stdout;

struct StdoutProcessor;

impl ProcessorFactory for Stdout {
    fn processor(&self, _ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        Ok(Box::new(Each(StdoutProcessor)))
    }
}

impl OperationLifecycle for StdoutProcessor {}

impl EachProcessor for StdoutProcessor {
    fn for_each(&mut self, record: &Record, _index: usize) -> Result<(), OpError> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", record.data)
            .map_err(|e| OpError::new(format!("stdout: cannot write a record: {e}")))
    }
}
