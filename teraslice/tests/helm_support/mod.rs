//! The Helm binary of `cargo xtask helm` (TERASLICE_HELM) and the chart's paths, for
//! `helm_chart.rs` and `k8s_node/helm.rs`.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub const HELM_ENV: &str = "TERASLICE_HELM";

/// `charts/teraslice`.
pub fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("charts")
        .join("teraslice")
}

/// `teraslice/tests/helm`: the Teraslice-style values and the golden files.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("helm")
}

fn helm_bin() -> PathBuf {
    match std::env::var_os(HELM_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "{HELM_ENV} is not set: run the tests with `cargo xtask test`, or \
             `export {HELM_ENV}=$(cargo xtask helm)`"
        ),
    }
}

/// Runs helm with `args`.
pub fn helm(args: &[&str]) -> Output {
    let bin = helm_bin();
    Command::new(&bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

/// helm's stdout; panics with both streams unless it succeeds.
pub fn helm_ok(args: &[&str]) -> String {
    let out = helm(args);
    if !out.status.success() {
        panic!(
            "helm {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// helm's stderr; panics unless it fails.
pub fn helm_fails(args: &[&str]) -> String {
    let out = helm(args);
    assert!(
        !out.status.success(),
        "helm {args:?} succeeded, expected an error:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}
