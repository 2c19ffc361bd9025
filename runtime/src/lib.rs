//! teraslice-runtime: the execution controller (EC), the worker, their WebSocket protocol, and
//! the operation API with Teraslice's core built-in ops (`noop`, `delay`, `collect`,
//! `test-reader`). The assets (`standard`, `elasticsearch`, `file`) are crates of their own
//! under `assets/`, built on this API. See `docs/runtime.md` for the protocol.
//!
//! # For the `teraslice execution-controller` subcommand
//! ```no_run
//! # async fn ec(ex: teraslice_core::ExecutionRecord, store: std::sync::Arc<dyn teraslice_core::StateStore>) -> Result<(), teraslice_runtime::RuntimeError> {
//! use std::sync::Arc;
//! use teraslice_runtime::{ControllerOptions, ExecutionController, OpRegistry, RuntimeTimeouts};
//! let opts = ControllerOptions {
//!     registry: Arc::new(OpRegistry::with_builtins()), // plus assets, configured(&config)
//!     timeouts: RuntimeTimeouts::default(),            // fill from SystemConfig teraslice.*
//!     bind_host: "0.0.0.0".into(),
//! };
//! // Binds `ex.slicer_port` (0 = any free port): workers and the master may connect from now.
//! let ec = ExecutionController::new(ex, store, opts).await?;
//! let _addr = ec.local_addr();
//! let control = ec.handle(); // pause()/resume()/stop()/analytics(); SIGTERM → control.stop()
//! let outcome = ec.run().await?; // status already written to the store
//! # let _ = (control, outcome); Ok(()) }
//! ```
//! `run()` writes `initializing` → `running` (or `recovering`) → `completed` / `failed` /
//! `terminated` (a stop keeps the master's `stopping`). `Err` means it could not start (the
//! execution was already running or ended, or the store failed); the process should exit 1.
//! The same port serves `GET /health`, `POST /api/v1/{pause,resume,stop}` and
//! `GET /api/v1/analytics` for the master.
//!
//! # For the `teraslice worker` subcommand
//! ```no_run
//! # async fn w(ex: teraslice_core::ExecutionRecord, store: std::sync::Arc<dyn teraslice_core::StateStore>) -> Result<(), teraslice_runtime::RuntimeError> {
//! use teraslice_runtime::{Worker, WorkerOptions};
//! let addr = format!("{}:{}", ex.slicer_hostname.clone().unwrap_or_default(), ex.slicer_port.unwrap_or(45680));
//! let worker = Worker::new(ex, store, &addr, "host__1", WorkerOptions::default());
//! let stop = worker.handle(); // SIGTERM → stop.shutdown(): finish the slice, then exit
//! let outcome = worker.run().await?;
//! # let _ = (stop, outcome); Ok(()) }
//! ```
//!
//! # For operation authors
//! Implement [`ops::ReaderFactory`] (slicers + fetcher) or [`ops::ProcessorFactory`] and
//! register it: `registry.register_processor("my_op", MyOp)`. The registry is core's
//! `OpCatalog`, so job validation knows your op and its config defaults. An asset crate also
//! registers its [`ops::Asset`] and, for settings of the system config, a hook
//! ([`OpRegistry::on_system_config`], run by [`OpRegistry::configured`]).
pub mod controller;
pub mod error;
pub mod log_level;
pub mod metrics;
#[warn(missing_docs)]
pub mod ops;
pub mod protocol;
pub mod timeouts;
pub mod worker;

pub use controller::{ControllerHandle, ControllerOptions, ExecutionController, ExecutionOutcome};
pub use error::{RuntimeError, TransportError};
pub use ops::OpRegistry;
pub use timeouts::RuntimeTimeouts;
pub use worker::{Worker, WorkerHandle, WorkerOptions, WorkerOutcome};
