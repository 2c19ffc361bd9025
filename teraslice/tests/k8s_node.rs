//! The guide's workflow on the real node of `cargo xtask k8s up`: the teraslice image (built by
//! `cargo xtask image`) runs the master, the execution controllers and the workers as real pods
//! on a kubelet, with state in an OpenSearch pod. Needs `cargo xtask test` (or the plane, the
//! image and `eval "$(cargo xtask k8s env)"`); without them these tests fail, never skip.
//! They run one at a time: each starts a master, an EC and workers on a 2-core machine.
#[path = "helm_support/mod.rs"]
mod helm_support;

mod k8s_node {
    pub mod cluster;
    pub mod env;
    pub mod jobs;
    pub mod kubectl;
    pub mod store;

    mod failures;
    mod guide;
    mod helm;
    mod lifecycle;
    mod runs;
}
