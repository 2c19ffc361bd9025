//! The example manifests of `examples/k8s`, rendered as the Makefile does and applied with the
//! plane's kubectl, as a user would.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::env::NodeEnv;

pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
        .join("k8s")
}

/// `examples/k8s/<file>` with the namespace/cluster name and image replaced, as `make` renders it.
pub fn render(file: &str, namespace: &str, image: &str) -> String {
    let path = examples_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.replace("ts-dev1", namespace)
        .replace("teraslice-k8sdev:1", image)
}

/// Runs kubectl; panics with its output unless it succeeds.
pub fn kubectl(env: &NodeEnv, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(&env.kubectl);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", env.kubectl.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        pipe.write_all(input.as_bytes())
            .expect("write kubectl stdin");
    }
    let out = child.wait_with_output().expect("kubectl output");
    if !out.status.success() {
        panic!(
            "kubectl {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn apply(env: &NodeEnv, yaml: &str) {
    kubectl(env, &["apply", "-f", "-"], Some(yaml));
}

/// Drops the fixed `nodePort:` of a Service so several test clusters can run at once (the
/// API server then picks a free one).
pub fn without_node_ports(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.trim_start().starts_with("nodePort:"))
        .map(|l| l.replace(", nodePort: 30200", ""))
        .collect::<Vec<_>>()
        .join("\n")
}
