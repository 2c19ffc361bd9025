//! Teraslice's core built-in operations (job-components `builtin/`), one file each: `noop`,
//! `delay`, `collect` and `test-reader`. The assets' ops (`standard`, `elasticsearch`, `file`)
//! are crates of their own under `assets/`.
mod collect;
mod delay;
mod noop;
mod test_reader;

pub use collect::Collect;
pub use delay::Delay;
pub use noop::Noop;
pub use test_reader::TestReader;

use super::OpRegistry;

/// The registry's default set.
pub fn register_builtins(registry: &mut OpRegistry) {
    registry.register_processor("noop", Noop);
    registry.register_processor("delay", Delay);
    registry.register_processor("collect", Collect);
    registry.register_reader("test-reader", TestReader);
}
