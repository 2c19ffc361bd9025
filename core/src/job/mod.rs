//! The Teraslice job definition: every field of the job JSON with Teraslice's defaults, and
//! validation that reports every problem with its JSON path (see [`validate`]).
mod model;
pub mod validate;

pub use model::*;
pub use validate::{validate_job, JobValidationContext, ValidationError, ValidationErrors};
