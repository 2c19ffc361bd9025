//! The built-in assets: what a job's `assets` list may name, and what `GET /assets` shows.
//! Their ops are compiled in; uploaded (JavaScript) assets are not run.
use serde::Serialize;

/// One built-in asset, in the shape of Teraslice's asset record plus its `ops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltinAsset {
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

/// Teraslice's `standard`, `elasticsearch` and `file` assets.
pub const BUILTIN_ASSETS: &[BuiltinAsset] = &[
    BuiltinAsset {
        name: "standard",
        version: "2.1.2",
        description:
            "Built-in: data_generator, stdout and the standard record transforms and routers",
        ops: &[
            "add_key",
            "count_by_field",
            "data_generator",
            "date_router",
            "debug_routes",
            "dedupe",
            "drop_field",
            "field_router",
            "filter",
            "hash_router",
            "json_parser",
            "key_router",
            "remove_empty_fields",
            "routed_sender",
            "set_field",
            "set_key",
            "sort",
            "stdout",
        ],
        apis: &[],
    },
    BuiltinAsset {
        name: "elasticsearch",
        version: "5.1.6",
        description: "Built-in: Elasticsearch/OpenSearch readers and bulk sender",
        ops: &["elasticsearch_bulk", "elasticsearch_reader", "id_reader"],
        apis: &["elasticsearch_reader_api", "elasticsearch_sender_api"],
    },
    BuiltinAsset {
        name: "file",
        version: "3.0.0",
        description: "Built-in: local file reader and exporter (ldjson, json, csv, tsv, raw)",
        ops: &["file_exporter", "file_reader"],
        apis: &["file_reader_api", "file_sender_api"],
    },
];

impl BuiltinAsset {
    /// A stable 40-hex id, as Teraslice asset ids are (sha1 of the name and version here).
    pub fn id(&self) -> String {
        use sha1::Digest;
        let digest = sha1::Sha1::digest(format!("teraslice-rs:{}:{}", self.name, self.version));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The built-in asset a job's `assets` entry names (`standard`, `standard:1.2.0`,
/// `standard@1.2.0`: any version is served by the built-in ops) or is the id of.
pub fn find(entry: &str) -> Option<&'static BuiltinAsset> {
    let name = entry.split([':', '@']).next().unwrap_or(entry).trim();
    BUILTIN_ASSETS
        .iter()
        .find(|a| a.name == name || (name.len() == 40 && a.id() == name))
}
