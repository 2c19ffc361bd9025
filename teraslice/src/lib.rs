//! teraslice-rs as a library: the `teraslice` command — master, execution controller, worker,
//! `run` and the CLI client — with a user's own cluster backends and operations.
//!
//! A build of Teraslice with more in it is a `main.rs` like ours plus the user's crates:
//! ```no_run
//! use teraslice::Teraslice;
//! use teraslice_core::config::ClusterManagerType;
//! # fn my_backend(_: &teraslice_core::config::SystemConfig) -> teraslice_core::backend_factory::BackendFuture { unimplemented!() }
//!
//! fn main() -> anyhow::Result<()> {
//!     let mut ops = teraslice::default_ops(); // core built-ins + standard, elasticsearch, file, kafka
//!     // ops.register_processor("my_op", MyOp);   // the user's ops
//!     Teraslice::new()
//!         .ops(ops)
//!         // `teraslice.cluster_manager_type: nomad` selects it; its settings: `teraslice.nomad`.
//!         .backend(ClusterManagerType::from_static("nomad"), my_backend)
//!         .main()
//! }
//! ```
//! [`Master`] runs a master in-process (what `teraslice run` and the examples' tests do).
//! `docs/extending.md` walks through a backend and an op crate.
#![warn(missing_docs)]
mod api;
mod app;
mod client;
mod master;
mod metrics;
mod process;
mod run;
mod ui;

pub use app::{default_ops, Extensions, Teraslice};
pub use master::{Master, MasterError, MasterOptions, MasterServices};
