//! Where xtask keeps builds, downloads and running state: outside the repository, keyed by version.
use std::path::PathBuf;

/// `$TERASLICE_RS_CACHE` or `~/.cache/teraslice-rs`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("TERASLICE_RS_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("teraslice-rs")
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}
