//! The worker side of a reader: turns a slice request into records.
use async_trait::async_trait;

use super::{OpError, OperationLifecycle, Record, SliceRequest};

/// Reads the data of one slice (Teraslice `Fetcher.fetch`).
#[async_trait]
pub trait Fetcher: OperationLifecycle {
    /// The records of the slice whose request is `request`.
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError>;
}
