//! teraslice-runtime: the execution controller, the worker, their WebSocket protocol, and the
//! operation API with the built-in ops.
pub mod controller;
pub mod error;
pub mod ops;
pub mod protocol;
pub mod timeouts;
pub mod worker;

pub use controller::{ControllerHandle, ControllerOptions, ExecutionController, ExecutionOutcome};
pub use error::{RuntimeError, TransportError};
pub use ops::OpRegistry;
pub use timeouts::RuntimeTimeouts;
pub use worker::{Worker, WorkerHandle, WorkerOptions, WorkerOutcome};
