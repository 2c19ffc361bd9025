//! Counters operations keep (`count_by_field`, the elasticsearch reader and sender), through
//! [`crate::ops::OpContext::metrics`]: registered in this process's registry when metrics are
//! on, detached (counting for nobody) otherwise.
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::Labels;

/// The metrics of one operation instance: every counter gets its `op_name` label.
#[derive(Debug, Clone)]
pub struct OpMetrics {
    op_name: String,
}

impl OpMetrics {
    pub(crate) fn new(op_name: &str) -> Self {
        OpMetrics {
            op_name: op_name.to_string(),
        }
    }

    /// The counter `<prefix>_<name>_total{labels…, op_name}`. Look it up once per slice or
    /// batch (a map lookup under a lock) and `inc_by` it (an atomic add); `help` is kept from
    /// the first caller of `name`.
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Counter {
        let set = self.label_set(labels);
        match super::installed() {
            Some(m) => m.counter_family(name, help).get_or_create_owned(&set),
            None => Counter::default(),
        }
    }

    /// The gauge `<prefix>_<name>{labels…, op_name}`, as [`OpMetrics::counter`].
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Gauge {
        let set = self.label_set(labels);
        match super::installed() {
            Some(m) => m.gauge_family(name, help).get_or_create_owned(&set),
            None => Gauge::default(),
        }
    }

    fn label_set(&self, labels: &[(&str, &str)]) -> Labels {
        let mut set: Labels = labels
            .iter()
            .map(|(k, v)| (label_name(k), (*v).to_string()))
            .collect();
        set.push(("op_name".into(), self.op_name.clone()));
        set
    }
}

/// A valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`): other characters become `_`.
fn label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_names_are_made_valid() {
        assert_eq!(super::label_name("user.id"), "user_id");
        assert_eq!(super::label_name("1st"), "_1st");
        assert_eq!(super::label_name("ok_name"), "ok_name");
    }
}
