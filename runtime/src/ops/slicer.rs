//! The slicer side of a reader: runs in the EC and produces slice requests.
use async_trait::async_trait;

use super::{OpError, SliceRequest, SlicerRecoveryData};

/// One slicer stream. A reader returns one (a Teraslice `Slicer`) or `job.slicers` of them
/// (a `ParallelSlicer`); stream `i` gets `slicer_id = i`. Each stream runs in its own task
/// and is asked for the next request only when the EC's queue has room (back-pressure).
#[async_trait]
pub trait Slicer: Send {
    /// Called once before the first `slice()`. `recovery` is where this stream left off in the
    /// execution being recovered (the request of its last completed slice), if any.
    async fn initialize(&mut self, _recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        Ok(())
    }
    /// The next slice request. `None` means "done" in a `once` job and "nothing right now" in a
    /// `persistent` job (the EC asks again shortly). `Some(Value::Array(..))` is one slice whose
    /// request is the array (use [`Slicer::slice_many`] to make several slices at once).
    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError>;
    /// Several requests at once (Teraslice's "slicer returned an array"): each becomes a slice.
    /// The default wraps `slice()`.
    async fn slice_many(&mut self) -> Result<Option<Vec<SliceRequest>>, OpError> {
        Ok(self.slice().await?.map(|r| vec![r]))
    }
    /// Called once when the execution ends.
    async fn shutdown(&mut self) -> Result<(), OpError> {
        Ok(())
    }
    /// Whether the slicer can resume from [`SlicerRecoveryData`]; a recovered execution whose
    /// slicer is not recoverable fails with "Slicer is not recoverable".
    fn is_recoverable(&self) -> bool {
        false
    }
    /// Whether a restarted EC (k8s pod relocation) may take over a running execution.
    fn is_relocatable(&self) -> bool {
        false
    }
    /// Teraslice's `maxQueueLength()`: how many slices may wait in the EC's queue, given the
    /// workers connected now (at least one is always allowed). Default: Teraslice's 10,000. A
    /// slicer whose slices are cheap to make keeps this small (data_generator: 3 per worker),
    /// so a stop or a crash leaves few `pending` slices to recover.
    fn max_queue_length(&self, _workers_connected: usize) -> usize {
        crate::controller::MAX_QUEUE
    }
}
