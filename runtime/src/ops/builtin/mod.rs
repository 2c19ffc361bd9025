//! The built-in operations, one file each. To add one: a file here and one line in
//! [`register_builtins`].
mod collect;
mod data_generator;
mod delay;
mod elasticsearch;
mod file_exporter;
mod file_format;
mod file_reader;
mod noop;
mod read_check;
pub mod standard;
mod stdout;
mod test_reader;

pub use collect::Collect;
pub use delay::Delay;
pub use noop::Noop;
pub use stdout::Stdout;
pub use test_reader::TestReader;

use super::OpRegistry;

/// The registry's default set.
pub fn register_builtins(registry: &mut OpRegistry) {
    registry.register_processor("noop", Noop);
    registry.register_processor("delay", Delay);
    registry.register_processor("collect", Collect);
    registry.register_processor("stdout", Stdout);
    registry.register_reader("test-reader", TestReader);
    data_generator::register(registry);
    file_reader::register(registry);
    file_exporter::register(registry);
    // Without connectors until the registry is built `with_connectors`.
    elasticsearch::register(registry, Default::default());
    // Last: routed_sender sends through the sender ops registered above.
    standard::register(registry);
}
