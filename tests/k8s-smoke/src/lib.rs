//! Only integration tests live here (`tests/smoke.rs`); they need `cargo xtask k8s up`.
