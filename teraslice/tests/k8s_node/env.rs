//! What the real-node tests need from `cargo xtask test` (or `cargo xtask k8s env` plus
//! `cargo xtask image`): the plane, its real node, and the images imported into that node.
use std::path::PathBuf;

/// Every variable the tests read, with how to get it; a missing one fails the test.
pub struct NodeEnv {
    /// The plane's kubectl (the Makefile and `apply` run it).
    pub kubectl: PathBuf,
    /// The teraslice image in the real node's runtime (`cargo xtask image teraslice`).
    pub image: String,
    /// The name of the real node (kubelet + containerd), where these tests' pods run.
    pub real_node: String,
    /// The annotations that put a namespace's pods on the real node (the PodNodeSelector and
    /// PodTolerationRestriction admission plugins), from TERASLICE_K8S_REAL_NODE_SELECTOR and
    /// TERASLICE_K8S_REAL_NODE_TOLERATIONS.
    pub namespace_annotations: serde_json::Map<String, serde_json::Value>,
}

const HOW: &str = "run the tests with `cargo xtask test`, or `cargo xtask k8s up`, \
                   `cargo xtask image teraslice` and `eval \"$(cargo xtask k8s env)\"`";

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: {HOW}"),
    }
}

impl NodeEnv {
    pub fn get() -> NodeEnv {
        var("KUBECONFIG");
        let mut namespace_annotations = serde_json::Map::new();
        namespace_annotations.insert(
            "scheduler.alpha.kubernetes.io/node-selector".into(),
            var("TERASLICE_K8S_REAL_NODE_SELECTOR").into(),
        );
        namespace_annotations.insert(
            "scheduler.alpha.kubernetes.io/defaultTolerations".into(),
            var("TERASLICE_K8S_REAL_NODE_TOLERATIONS").into(),
        );
        NodeEnv {
            kubectl: PathBuf::from(var("TERASLICE_KUBECTL")),
            image: var("TERASLICE_K8S_IMAGE"),
            real_node: var("TERASLICE_K8S_REAL_NODE"),
            namespace_annotations,
        }
    }

    /// `key=value` arguments for `kubectl annotate` / the Makefile's NAMESPACE_ANNOTATIONS.
    pub fn annotation_args(&self) -> Vec<String> {
        self.namespace_annotations
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect()
    }
}
