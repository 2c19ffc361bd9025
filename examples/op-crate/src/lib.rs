//! An operations crate, registered into [`OpRegistry`] as any asset is:
//! - `sequence` (reader): the numbers `0..size` as records `{"n": i}`, `per_slice` to a slice.
//!   Its slicer resumes after the last completed slice when an execution is recovered.
//! - `fizzbuzz` (processor): sets `target` (default `says`) from the number in `field`
//!   (default `n`): `fizz`, `buzz`, `fizzbuzz` or the number.
#![warn(missing_docs)]
mod fizzbuzz;
mod sequence;

use teraslice_runtime::OpRegistry;

pub use fizzbuzz::FizzBuzz;
pub use sequence::Sequence;

/// Adds `sequence` and `fizzbuzz`.
pub fn register(registry: &mut OpRegistry) {
    registry.register_reader("sequence", Sequence);
    registry.register_processor("fizzbuzz", FizzBuzz);
}
