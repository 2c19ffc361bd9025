//! Reads a file config map: Teraslice's defaults, every problem named by its field.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::{FileConfig, Format, Side, DEFAULT_READ_SIZE, FORMATS};
use crate::compression::Compression;
use teraslice_runtime::ops::read_check::ReadCheck;

/// Where the files live: local (`file_*`) or in S3 (`s3_*`), which differ in defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Local,
    S3,
}

impl Store {
    /// `file_per_slice` when not set: Teraslice's s3_reader cuts objects by default.
    fn file_per_slice_default(self, side: Side) -> bool {
        !(self == Store::S3 && side == Side::Reader)
    }
}

/// Parses a local `file` config (op or api entry) for `side`.
pub fn parse_config(
    cfg: &Map<String, Value>,
    side: Side,
) -> Result<FileConfig, Vec<ValidationError>> {
    parse_config_for(cfg, side, Store::Local)
}

/// Parses a `file` or `s3` config (op or api entry) for `side`.
pub fn parse_config_for(
    cfg: &Map<String, Value>,
    side: Side,
    store: Store,
) -> Result<FileConfig, Vec<ValidationError>> {
    let mut c = ReadCheck::new(cfg);
    let what = match (side, store) {
        (Side::Reader, Store::Local) => "the file or directory to read",
        (Side::Sender, Store::Local) => "the directory to write to",
        (Side::Reader, Store::S3) => "bucket[/prefix] to read",
        (Side::Sender, Store::S3) => "bucket[/prefix] to write to",
    };
    let path = match c.get("path") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None => {
            c.fail("path", format!("required: {what} (a string)"));
            String::new()
        }
        Some(v) => {
            let m = format!("must be a non-empty string ({what}), got {v}");
            c.fail("path", m);
            String::new()
        }
    };
    let format = match c.one_of("format", FORMATS).as_deref() {
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("tsv") => Format::Tsv,
        Some("raw") => Format::Raw,
        _ => Format::Ldjson,
    };
    let size = match side {
        Side::Reader => c.positive("size", DEFAULT_READ_SIZE, "bytes per slice"),
        Side::Sender => 0,
    };
    let line_delimiter = c.string("line_delimiter", "\n", true);
    let field_delimiter = c.string("field_delimiter", ",", true);
    let fields = match c.get("fields") {
        None => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(v) => {
            let m = format!("must be an array of field names (strings), got {v}");
            c.fail("fields", m);
            Vec::new()
        }
    };
    let file_per_slice = c.bool("file_per_slice", store.file_per_slice_default(side));
    let include_header = c.bool("include_header", false);
    let remove_header = c.bool("remove_header", true);
    let ignore_empty = c.bool("ignore_empty", true);
    let extension = c.string("extension", "", false);
    let compression = match c.get("compression") {
        None | Some(Value::Null) => Compression::None,
        Some(Value::String(s)) if Compression::from_name(s).is_some() => {
            Compression::from_name(s).unwrap_or_default()
        }
        Some(v) => {
            c.fail(
                "compression",
                format!("must be one of none, gzip, lz4, got {v}"),
            );
            Compression::None
        }
    };
    if side == Side::Reader
        && compression != Compression::None
        && !file_per_slice
        && format != Format::Json
    {
        c.fail("file_per_slice", "must be set to true if compression is set to anything other than \"none\" as we cannot properly divide up a compressed file".into());
    }
    if store == Store::S3 && side == Side::Sender && !file_per_slice {
        c.fail(
            "file_per_slice",
            "must be set to true, cannot append data to S3 objects".into(),
        );
    }
    c.positive("concurrency", 10, "parallel writes");
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(FileConfig {
        path,
        format,
        size,
        line_delimiter,
        field_delimiter,
        fields,
        // Teraslice forces one file per slice for json output.
        file_per_slice: file_per_slice || (side == Side::Sender && format == Format::Json),
        include_header,
        remove_header,
        ignore_empty,
        extension,
        compression,
    })
}

/// Writes Teraslice's defaults for the keys `cfg` does not set.
pub fn fill_defaults(cfg: &mut Map<String, Value>, parsed: &FileConfig, side: Side) {
    fill_defaults_for(cfg, parsed, side, Store::Local);
}

/// [`fill_defaults`] for `store`.
pub fn fill_defaults_for(
    cfg: &mut Map<String, Value>,
    parsed: &FileConfig,
    side: Side,
    store: Store,
) {
    let mut defaults = vec![
        ("format", Value::from("ldjson")),
        ("line_delimiter", Value::from("\n")),
        ("field_delimiter", Value::from(",")),
        ("fields", Value::Array(Vec::new())),
        (
            "file_per_slice",
            Value::Bool(store.file_per_slice_default(side)),
        ),
        ("include_header", Value::Bool(false)),
        ("extension", Value::from("")),
        ("compression", Value::from("none")),
        ("concurrency", Value::from(10)),
    ];
    if side == Side::Reader {
        defaults.push(("size", Value::from(parsed.size)));
        defaults.push(("remove_header", Value::Bool(true)));
        defaults.push(("ignore_empty", Value::Bool(true)));
    }
    for (key, value) in defaults {
        if cfg.get(key).is_none_or(Value::is_null) {
            cfg.insert(key.into(), value);
        }
    }
}
