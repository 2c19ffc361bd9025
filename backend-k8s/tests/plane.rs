//! The backend against the real control plane of `cargo xtask k8s up` (kube-apiserver, scheduler,
//! controller-manager with its garbage collector, etcd; kwok runs the pods). Without KUBECONFIG
//! these tests fail, telling how to start the plane. Each test uses its own namespace.
mod plane {
    pub mod support;

    mod adopt;
    mod conformance;
    mod factory;
    mod lifecycle;
    mod rbac;
    mod requests;
    mod unschedulable;
}
