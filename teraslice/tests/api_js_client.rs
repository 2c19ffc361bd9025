//! The master driven by a JavaScript client as Teraslice's `teraslice-client-js` drives it
//! (`tests/js/client_compat.mjs`, Node built-ins only): `v1/` paths with a trailing slash, a
//! streamed upload that is refused, Teraslice's messages, key order and dates.
mod api_support;

use std::process::Command;

use api_support::TestMaster;

#[tokio::test]
async fn a_javascript_client_works_against_the_master() {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_string());
    let version = Command::new(&node).arg("--version").output().ok();
    let Some(version) = version.filter(|o| o.status.success()) else {
        panic!("Node.js (>= 18, for fetch) is needed for this test: install it or set NODE to its path");
    };
    let m = TestMaster::start("").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/client_compat.mjs");
    let url = format!("{}/", m.url);
    let out = tokio::task::spawn_blocking(move || Command::new(node).arg(script).arg(url).output())
        .await
        .expect("join")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node {} failed:\n{stdout}\n{stderr}",
        String::from_utf8_lossy(&version.stdout).trim()
    );
}
