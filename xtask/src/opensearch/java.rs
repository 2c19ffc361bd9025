//! Which JDK runs OpenSearch: `$OPENSEARCH_JAVA_HOME`, else `$JAVA_HOME`, else whatever is on PATH.
use std::path::PathBuf;

/// The path of a JDK tool (`java`, `jar`), or its bare name to look up on PATH.
pub fn tool(name: &str) -> PathBuf {
    ["OPENSEARCH_JAVA_HOME", "JAVA_HOME"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|home| PathBuf::from(home).join("bin").join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
