//! Counters operations keep (`count_by_field`, the elasticsearch reader and sender): registered
//! in this process's registry when metrics are on, detached (counting for nobody) otherwise.
use prometheus_client::metrics::counter::Counter;

use super::Labels;

/// The counter `<prefix>_<name>_total{labels…}`; keep the handle and `inc_by` it (an atomic
/// add). `help` is used by the first caller of `name`.
pub fn op_counter(name: &str, help: &str, labels: Labels) -> Counter {
    match super::installed() {
        Some(m) => m.counter_family(name, help).get_or_create_owned(&labels),
        None => Counter::default(),
    }
}
