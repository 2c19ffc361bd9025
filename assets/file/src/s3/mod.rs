//! The S3 side of the `file` asset: `s3_reader` / `s3_reader_api` and `s3_exporter` /
//! `s3_sender_api`, through the terafoundation `s3` connector named by `_connection`
//! (default `default`). Same formats, compression, byte-range slicing and decoding as the
//! local `file_*` ops; the client is `object_store`.
mod connector;
mod exporter;
mod reader;
pub mod upload;

use std::sync::Arc;

use object_store::ObjectStore;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{ApiContext, ApiFactory, ApiInstance, OpContext, OpError, OpRegistry};

use crate::file_format::{
    config_error, fill_defaults_for, parse_config_for, resolve_for, FileConfig, Side, Store,
};

/// Registers `s3_reader`, `s3_exporter` and their APIs, connecting through `connectors`
/// (`terafoundation.connectors`), replacing those registered before.
pub fn register_with_connectors(registry: &mut OpRegistry, connectors: Map<String, Value>) {
    let connectors = Arc::new(connectors);
    registry.register_api("s3_reader_api", S3Api { side: Side::Reader });
    registry.register_api("s3_sender_api", S3Api { side: Side::Sender });
    registry.register_reader(
        "s3_reader",
        reader::S3Reader {
            connectors: connectors.clone(),
        },
    );
    registry.register_processor("s3_exporter", exporter::S3Exporter { connectors });
}

/// `path` as bucket and key prefix: a leading `/` is skipped, the first segment is the
/// bucket, the rest (if any) always ends with `/` (Teraslice's `parsePath`).
pub fn split_path(path: &str) -> Result<(String, String), String> {
    let mut parts = path.trim_start_matches('/').split('/');
    let bucket = parts.next().unwrap_or_default().to_string();
    if bucket.is_empty() {
        return Err(format!(
            "path \"{path}\" names no bucket: use bucket[/prefix]"
        ));
    }
    let rest: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    let prefix = if rest.is_empty() {
        String::new()
    } else {
        rest.join("/") + "/"
    };
    Ok((bucket, prefix))
}

/// The `_connection` of an S3 config (`default` when unset).
fn connection(map: &Map<String, Value>) -> Result<String, ValidationError> {
    match map.get("_connection").or_else(|| map.get("connection")) {
        None | Some(Value::Null) => Ok("default".into()),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(v) => Err(ValidationError {
            path: "_connection".into(),
            message: format!("must name an s3 connector (a string), got {v}"),
        }),
    }
}

/// Checks an S3 config map (op or api entry): the file keys, the path's bucket, `_connection`.
pub fn check(map: &mut Map<String, Value>, side: Side) -> Vec<ValidationError> {
    let mut errors = match parse_config_for(map, side, Store::S3) {
        Ok(parsed) => {
            if let Err(e) = split_path(&parsed.path) {
                vec![ValidationError {
                    path: "path".into(),
                    message: e,
                }]
            } else {
                fill_defaults_for(map, &parsed, side, Store::S3);
                Vec::new()
            }
        }
        Err(errors) => errors,
    };
    if let Err(e) = connection(map) {
        errors.push(e);
    }
    errors
}

/// `s3_reader_api` / `s3_sender_api`: checks an `apis[]` entry; the instance is its config.
struct S3Api {
    side: Side,
}

impl ApiFactory for S3Api {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        check(config, self.side)
    }
    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError> {
        let cfg = parse_config_for(&ctx.config.0, self.side, Store::S3)
            .map_err(|e| config_error(ctx.config.name(), &e))?;
        Ok(Arc::new(cfg))
    }
}

/// What an S3 op works with at run time.
pub struct Resolved {
    pub cfg: FileConfig,
    pub bucket: String,
    pub prefix: String,
    pub store: Arc<dyn ObjectStore>,
    /// The connector the client came from (s3_exporter creates a missing bucket through it).
    pub connector: connector::S3Connector,
    /// `terafoundation.connectors.s3.<name> (<endpoint>)`, for error messages.
    pub source: String,
}

/// The op's config (from its api entry or itself), bucket, prefix and client.
pub fn resolve(
    ctx: &OpContext,
    side: Side,
    connectors: &Map<String, Value>,
) -> Result<Resolved, OpError> {
    let op = ctx.config.op_name().to_string();
    let cfg = resolve_for(ctx, side, Store::S3)?;
    let map = match ctx.config.api_name() {
        Some(name) => ctx.job.api(name).map(|a| &a.0).unwrap_or(&ctx.config.0),
        None => &ctx.config.0,
    };
    let name = connection(map).map_err(|e| OpError::non_retryable(format!("{op}: {e}")))?;
    let (bucket, prefix) =
        split_path(&cfg.path).map_err(|e| OpError::non_retryable(format!("{op}: {e}")))?;
    let connector = connector::find(connectors, &name)
        .map_err(|e| OpError::non_retryable(format!("{op}: {e}")))?;
    let store = connector
        .store(&bucket)
        .map_err(|e| OpError::non_retryable(format!("{op}: {e}")))?;
    let source = format!(
        "terafoundation.connectors.s3.{name} (endpoint {})",
        connector.endpoint
    );
    Ok(Resolved {
        cfg,
        bucket,
        prefix,
        store,
        connector,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn path_is_bucket_and_a_directory_prefix() {
        let split = |p: &str| split_path(p).expect("valid path");
        assert_eq!(split("my-bucket"), ("my-bucket".into(), String::new()));
        assert_eq!(split("my-bucket/a/b"), ("my-bucket".into(), "a/b/".into()));
        assert_eq!(
            split("/my-bucket/a/b/"),
            ("my-bucket".into(), "a/b/".into())
        );
        assert!(split_path("/").is_err());
    }
}
