//! The operation API: what operation authors and asset crates implement (Teraslice
//! job-components, reference §5), the registry of known ops and assets, the config helpers the
//! assets share ([`fields`], [`read_check`], [`dates`]), and Teraslice's core built-in ops.
//!
//! A reader = [`ReaderFactory`] building [`Slicer`] streams (in the EC) and a [`Fetcher`] (in
//! each worker). A processor = [`ProcessorFactory`] building a [`BatchProcessor`] (per-record
//! kinds adapt with [`Each`], [`Map`], [`Filter`]). Both get an [`OpContext`] and may use the
//! job's APIs through [`ApiSet`]. Register them in an [`OpRegistry`].
mod api;
mod asset;
pub mod builtin;
mod context;
pub mod dates;
mod error;
mod fetcher;
pub mod fields;
mod lifecycle;
mod processor;
pub mod read_check;
pub mod record;
mod registry;
mod slice;
mod slicer;

pub use api::{
    api_module_name, ApiContext, ApiFactory, ApiInstance, ApiSet, DeadLetterFn, DeadLetterQueue,
};
pub use asset::Asset;
pub use context::OpContext;
pub use error::OpError;
pub use fetcher::Fetcher;
pub use lifecycle::OperationLifecycle;
pub use processor::{
    BatchProcessor, Each, EachProcessor, Filter, FilterProcessor, Map, MapProcessor,
};
pub use record::{DataEntity, Record};
pub use registry::{ConfigHook, OpRegistry, ProcessorFactory, ReaderFactory};
pub use slice::{Slice, SliceRequest, SlicerRecoveryData};
pub use slicer::Slicer;
