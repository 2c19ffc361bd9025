//! Teraslice's `file` asset: `file_reader` and `file_exporter` (local files: ldjson, json, csv,
//! tsv, raw) and the `file_reader_api` / `file_sender_api` entries they may read their settings
//! from. Registered into an [`OpRegistry`] as any asset crate is: [`register`].
//!
//! Paths are limited to `teraslice.file_roots` once the registry is
//! [`configured`](OpRegistry::configured) with the system config; before that, any path.
#![warn(missing_docs)]
mod compression;
mod file_exporter;
mod file_format;
mod file_reader;
mod s3;

use std::path::PathBuf;

use serde_json::Map;

use teraslice_runtime::ops::Asset;
use teraslice_runtime::OpRegistry;

use file_format::FileRoots;
pub use s3::register_with_connectors as register_s3_with_connectors;
pub use s3::upload::{put_object as s3_put_object, MIN_PART_SIZE as S3_MIN_PART_SIZE};

/// The asset, as a job's `assets` names it and `GET /assets` shows it.
pub const ASSET: Asset = Asset {
    name: "file",
    version: "3.0.0",
    description:
        "Built-in: local file and S3 readers and exporters (ldjson, json, csv, tsv, raw; gzip, lz4)",
    ops: &["file_exporter", "file_reader", "s3_exporter", "s3_reader"],
    apis: &[
        "file_reader_api",
        "file_sender_api",
        "s3_reader_api",
        "s3_sender_api",
    ],
};

/// Registers the asset, its ops and APIs (any path, no S3 connectors), and a hook that limits
/// them to the system config's `teraslice.file_roots` and gives the S3 ops
/// `terafoundation.connectors`. Register it before `standard`: `routed_sender` sends through
/// `file_exporter`.
pub fn register(registry: &mut OpRegistry) {
    registry.register_asset(ASSET);
    register_with_roots(registry, None);
    s3::register_with_connectors(registry, Map::new());
    registry.on_system_config(|registry, config| {
        register_with_roots(registry, config.teraslice.security.file_roots.clone());
        s3::register_with_connectors(registry, config.terafoundation.connectors.clone());
    });
}

/// Registers `file_reader`, `file_exporter` and their APIs limited to `roots` (`None`: any
/// path), replacing those registered before.
pub fn register_with_roots(registry: &mut OpRegistry, roots: Option<Vec<PathBuf>>) {
    let roots = FileRoots::new(roots);
    file_reader::register_with(registry, roots.clone());
    file_exporter::register_with(registry, roots);
}
