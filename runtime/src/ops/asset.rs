//! [`Asset`]: what a job's `assets` list may name, and what `GET /assets` shows. An asset crate
//! registers one with [`super::OpRegistry::register_asset`] next to its ops. Their ops are
//! compiled in; uploaded (JavaScript) assets are not run.
use serde::Serialize;

/// One asset, in the shape of Teraslice's asset record plus its `ops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// The asset's name, as a job's `assets` names it.
    pub name: &'static str,
    /// The Teraslice asset version whose behaviour these ops follow.
    pub version: &'static str,
    /// One line for `GET /assets`.
    pub description: &'static str,
    /// Its operations.
    pub ops: &'static [&'static str],
    /// Its APIs.
    pub apis: &'static [&'static str],
}

impl Asset {
    /// A stable 40-hex id, as Teraslice asset ids are (sha1 of the name and version here).
    pub fn id(&self) -> String {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(format!("teraslice-rs:{}:{}", self.name, self.version));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether a job's `assets` entry names this asset (`standard`, `standard:1.2.0`,
    /// `standard@1.2.0`: any version is served by the compiled-in ops) or is its id.
    pub fn matches(&self, entry: &str) -> bool {
        let name = entry.split([':', '@']).next().unwrap_or(entry).trim();
        self.name == name || (name.len() == 40 && self.id() == name)
    }
}
