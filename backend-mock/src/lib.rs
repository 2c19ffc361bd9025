//! An in-memory `ClusterBackend`: nodes × slots of capacity, a latency per call, and scripted
//! faults (allocation errors, controllers that exit, workers that never become ready, an
//! unreachable cluster). It emits the same events a real backend would, so the scheduler can be
//! tested without a cluster — and a master can run with `cluster_manager_type: mock`.
mod backend;
mod controller;
mod faults;
mod placement;

pub use backend::{MockBackend, MockConfig};
pub use faults::Faults;
