//! Conformance suites every `ClusterBackend` and `StateStore` implementation runs.
