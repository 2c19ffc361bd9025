//! Processors: every op after the reader. [`BatchProcessor`] is what the worker runs; the
//! per-record kinds are adapted to it with [`Each`], [`Map`] and [`Filter`].
use async_trait::async_trait;

use super::lifecycle::forward_lifecycle;
use super::{OpError, OperationLifecycle, Record};

/// Gets the whole batch of the slice and returns the batch for the next op.
#[async_trait]
pub trait BatchProcessor: OperationLifecycle {
    /// Processes the slice's records; what it returns goes to the next op.
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError>;
}

/// Sees each record; the batch passes through unchanged (Teraslice `EachProcessor.forEach`).
pub trait EachProcessor: OperationLifecycle {
    /// Sees record `index` of the slice.
    fn for_each(&mut self, record: &Record, index: usize) -> Result<(), OpError>;
}

/// Replaces each record (Teraslice `MapProcessor.map`).
pub trait MapProcessor: OperationLifecycle {
    /// The record that replaces record `index` of the slice.
    fn map(&mut self, record: Record, index: usize) -> Result<Record, OpError>;
}

/// Keeps the records for which `filter` is true (Teraslice `FilterProcessor.filter`).
pub trait FilterProcessor: OperationLifecycle {
    /// Whether record `index` of the slice is kept.
    fn filter(&mut self, record: &Record, index: usize) -> Result<bool, OpError>;
}

/// Runs an [`EachProcessor`] as a [`BatchProcessor`].
pub struct Each<P>(pub P);
/// Runs a [`MapProcessor`] as a [`BatchProcessor`].
pub struct Map<P>(pub P);
/// Runs a [`FilterProcessor`] as a [`BatchProcessor`].
pub struct Filter<P>(pub P);

forward_lifecycle!(Each, EachProcessor);
forward_lifecycle!(Map, MapProcessor);
forward_lifecycle!(Filter, FilterProcessor);

#[async_trait]
impl<P: EachProcessor> BatchProcessor for Each<P> {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        for (i, r) in batch.iter().enumerate() {
            self.0.for_each(r, i)?;
        }
        Ok(batch)
    }
}

#[async_trait]
impl<P: MapProcessor> BatchProcessor for Map<P> {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        batch
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.0.map(r, i))
            .collect()
    }
}

#[async_trait]
impl<P: FilterProcessor> BatchProcessor for Filter<P> {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut out = Vec::with_capacity(batch.len());
        for (i, r) in batch.into_iter().enumerate() {
            if self.0.filter(&r, i)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}
