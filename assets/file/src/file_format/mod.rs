//! Shared by `file_reader` and `file_exporter`: the config of Teraslice's `file` asset, read from
//! the op itself or from the `file_reader_api` / `file_sender_api` entry its `_api_name` names,
//! and the record formats (ldjson, json, csv, tsv, raw).
mod codec;
mod csv;
mod parse;
mod roots;

use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

pub use codec::{decode_json_file, decode_line, encode_batch, header_line, parse_header};
pub use parse::{fill_defaults, fill_defaults_for, parse_config, parse_config_for, Store};
pub use roots::FileRoots;
use teraslice_runtime::ops::{
    api_module_name, ApiContext, ApiFactory, ApiInstance, OpContext, OpError,
};

pub const FORMATS: &[&str] = &["ldjson", "json", "csv", "tsv", "raw"];
pub const DEFAULT_READ_SIZE: u64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ldjson,
    Json,
    Csv,
    Tsv,
    Raw,
}

/// Which side of the asset a config is for: the reader has `size` and the csv reading keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Reader,
    Sender,
}

impl Side {
    pub fn api_module(self) -> &'static str {
        self.api_module_for(Store::Local)
    }
    /// The api module an op of `store` reads its settings from.
    pub fn api_module_for(self, store: Store) -> &'static str {
        match (self, store) {
            (Side::Reader, Store::Local) => "file_reader_api",
            (Side::Sender, Store::Local) => "file_sender_api",
            (Side::Reader, Store::S3) => "s3_reader_api",
            (Side::Sender, Store::S3) => "s3_sender_api",
        }
    }
}

/// One validated file config (the `file` asset's `common-schema.ts`).
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub path: String,
    pub format: Format,
    /// Reader: bytes per slice.
    pub size: u64,
    pub line_delimiter: String,
    pub field_delimiter: String,
    pub fields: Vec<String>,
    pub file_per_slice: bool,
    pub include_header: bool,
    pub remove_header: bool,
    pub ignore_empty: bool,
    pub extension: String,
    pub compression: crate::compression::Compression,
}

impl FileConfig {
    /// The delimiter between csv values: `field_delimiter`, or a tab for tsv.
    pub fn value_delimiter(&self) -> &str {
        if self.format == Format::Tsv {
            "\t"
        } else {
            &self.field_delimiter
        }
    }
    /// Whether slices are whole files (`json` always is).
    pub fn whole_files(&self) -> bool {
        self.file_per_slice || self.format == Format::Json
    }
    /// Whether a reader must read and decompress the whole file before splitting it.
    pub fn read_whole(&self) -> bool {
        self.whole_files() || self.compression != crate::compression::Compression::None
    }
}

/// Resolves an op's file config at run time: the api entry named by `_api_name`, else the op.
pub fn resolve(ctx: &OpContext, side: Side) -> Result<FileConfig, OpError> {
    resolve_for(ctx, side, Store::Local)
}

/// [`resolve`] for `store`.
pub fn resolve_for(ctx: &OpContext, side: Side, store: Store) -> Result<FileConfig, OpError> {
    let op = ctx.config.op_name().to_string();
    let (map, source) = match ctx.config.api_name() {
        Some(name) => {
            let api = ctx.job.api(name).ok_or_else(|| {
                OpError::non_retryable(format!(
                    "{op}: _api_name \"{name}\" names no entry of the job's apis"
                ))
            })?;
            (&api.0, format!("{op} (api \"{name}\")"))
        }
        None => (&ctx.config.0, op),
    };
    parse_config_for(map, side, store).map_err(|errors| config_error(&source, &errors))
}

/// The worker's id as it appears in file and object names: characters other than ASCII
/// letters, digits and `also` become `_` (`worker` when there is no worker id).
pub fn key_safe_worker_id(ctx: &OpContext, also: &str) -> String {
    ctx.worker_id
        .as_deref()
        .unwrap_or("worker")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || also.contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `ctx` for a reader's fetcher: in the api layout, bad records follow the api entry's
/// `_dead_letter_action` (default `throw`), not the op's (Teraslice's file 4.x and kafka 6.x).
pub fn with_api_dead_letter_action(ctx: &OpContext) -> OpContext {
    let mut ctx = ctx.clone();
    if let Some(api) = ctx.config.api_name().and_then(|n| ctx.job.api(n)) {
        let action = api
            .0
            .get("_dead_letter_action")
            .cloned()
            .unwrap_or_else(|| Value::from("throw"));
        ctx.config.0.insert("_dead_letter_action".into(), action);
    }
    ctx
}

pub fn config_error(source: &str, errors: &[ValidationError]) -> OpError {
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    OpError::non_retryable(format!("{source}: {}", list.join("; ")))
}

/// Validates a `file_reader` / `file_exporter` op config: with `_api_name` the keys live in the
/// api entry (checked on its own), so the op must not set `path`; otherwise the op holds them.
pub fn validate_op(config: &mut Map<String, Value>, side: Side) -> Vec<ValidationError> {
    validate_op_for(config, side, Store::Local)
}

/// [`validate_op`] for `store`.
pub fn validate_op_for(
    config: &mut Map<String, Value>,
    side: Side,
    store: Store,
) -> Vec<ValidationError> {
    let key = if config.contains_key("_api_name") {
        "_api_name"
    } else {
        "api_name"
    };
    let Some(name) = config.get(key).and_then(Value::as_str).map(str::to_string) else {
        return match parse_config_for(config, side, store) {
            Ok(parsed) => {
                fill_defaults_for(config, &parsed, side, store);
                Vec::new()
            }
            Err(errors) => errors,
        };
    };
    let mut errors = Vec::new();
    let module = side.api_module_for(store);
    if api_module_name(&name) != module {
        errors.push(ValidationError {
            path: key.into(),
            message: format!(
                "must name a {module} entry (\"{module}\" or \"{module}:<tag>\"), got \"{name}\""
            ),
        });
    }
    if config.get("path").is_some_and(|v| !v.is_null()) {
        errors.push(ValidationError {
            path: "path".into(),
            message: format!("must not be set on the op when _api_name is given: set it in the \"{name}\" api entry"),
        });
    }
    errors
}

/// `file_reader_api` / `file_sender_api`: checks an `apis[]` entry; the instance is its
/// [`FileConfig`]. Its `path` must lie under the roots.
pub struct FileApi {
    pub side: Side,
    pub roots: FileRoots,
}

impl ApiFactory for FileApi {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        match parse_config(config, self.side) {
            Ok(parsed) => {
                fill_defaults(config, &parsed, self.side);
                self.roots
                    .validate(self.side.api_module(), Some(&parsed.path))
            }
            Err(errors) => errors,
        }
    }
    fn create(&self, ctx: &ApiContext<'_>) -> Result<ApiInstance, OpError> {
        let cfg = parse_config(&ctx.config.0, self.side)
            .map_err(|e| config_error(ctx.config.name(), &e))?;
        self.roots
            .check(self.side.api_module(), &cfg.path)
            .map_err(OpError::non_retryable)?;
        Ok(Arc::new(cfg))
    }
}

/// [`resolve`] held to `roots`: the op's path must lie under one of them.
pub fn resolve_within(
    ctx: &OpContext,
    side: Side,
    roots: &FileRoots,
) -> Result<FileConfig, OpError> {
    let cfg = resolve(ctx, side)?;
    roots
        .check(ctx.config.op_name(), &cfg.path)
        .map_err(OpError::non_retryable)?;
    Ok(cfg)
}

/// [`validate_op`], then the op's own `path` (when it has one) against `roots`.
pub fn validate_op_within(
    config: &mut Map<String, Value>,
    side: Side,
    op: &str,
    roots: &FileRoots,
) -> Vec<ValidationError> {
    let errors = validate_op(config, side);
    if !errors.is_empty() {
        return errors;
    }
    roots.validate(op, config.get("path").and_then(Value::as_str))
}
