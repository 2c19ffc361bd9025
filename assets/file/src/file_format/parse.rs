//! Reads a file config map: Teraslice's defaults, every problem named by its field.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::{FileConfig, Format, Side, DEFAULT_READ_SIZE, FORMATS};
use teraslice_runtime::ops::read_check::ReadCheck;

/// Parses a `file` config (op or api entry) for `side`.
pub fn parse_config(
    cfg: &Map<String, Value>,
    side: Side,
) -> Result<FileConfig, Vec<ValidationError>> {
    let mut c = ReadCheck::new(cfg);
    let what = match side {
        Side::Reader => "the file or directory to read",
        Side::Sender => "the directory to write to",
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
    let file_per_slice = c.bool("file_per_slice", true);
    let include_header = c.bool("include_header", false);
    let remove_header = c.bool("remove_header", true);
    let ignore_empty = c.bool("ignore_empty", true);
    let extension = c.string("extension", "", false);
    match c.get("compression").cloned() {
        None => {}
        Some(Value::String(s)) if s == "none" => {}
        Some(Value::String(s)) if s == "gzip" || s == "lz4" => c.fail(
            "compression",
            format!("\"{s}\" is not supported yet (NotSupported): only none is; decompress the files first"),
        ),
        Some(v) => c.fail(
            "compression",
            format!("must be none (gzip and lz4 are not supported yet), got {v}"),
        ),
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
    })
}

/// Writes Teraslice's defaults for the keys `cfg` does not set.
pub fn fill_defaults(cfg: &mut Map<String, Value>, parsed: &FileConfig, side: Side) {
    let mut defaults = vec![
        ("format", Value::from("ldjson")),
        ("line_delimiter", Value::from("\n")),
        ("field_delimiter", Value::from(",")),
        ("fields", Value::Array(Vec::new())),
        ("file_per_slice", Value::Bool(true)),
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
