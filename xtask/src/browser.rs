//! Headless Chromium and chromedriver for the web view's browser test
//! (`teraslice/tests/ui_browser.rs`), from Debian's packages, installed when missing.
use std::path::Path;

/// (a file the package installs, the package); the test looks for these paths.
const NEEDED: [(&str, &str); 2] = [
    ("/usr/bin/chromium", "chromium"),
    ("/usr/bin/chromedriver", "chromium-driver"),
];

pub fn ensure() -> anyhow::Result<()> {
    let missing: Vec<&str> = NEEDED
        .iter()
        .filter(|(file, _)| !Path::new(file).exists())
        .map(|&(_, package)| package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("browser: installing {}", missing.join(" "));
    crate::k8s::node::packages::install(&missing)
}
