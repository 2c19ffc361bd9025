//! Records ⇄ bytes for each format.
use serde_json::{Map, Value};

use super::csv::{join, split};
use super::{FileConfig, Format};
use teraslice_runtime::ops::Record;

/// The csv/tsv values (or header names) of `line`.
pub fn parse_header(cfg: &FileConfig, line: &str) -> Vec<String> {
    // Teraslice (csvtojson `trim: true`) trims every value, which also drops a stray `\r`.
    split(line, cfg.value_delimiter())
        .into_iter()
        .map(|v| v.trim().to_string())
        .collect()
}

/// One record from one line (ldjson, csv, tsv, raw); `header` names the csv columns.
pub fn decode_line(cfg: &FileConfig, line: &str, header: &[String]) -> Result<Value, String> {
    match cfg.format {
        Format::Ldjson | Format::Json => {
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))
        }
        Format::Raw => Ok(serde_json::json!({ "data": line })),
        Format::Csv | Format::Tsv => {
            let mut m = Map::new();
            for (i, value) in parse_header(cfg, line).into_iter().enumerate() {
                if cfg.ignore_empty && value.is_empty() {
                    continue;
                }
                let key = header
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("field{}", i + 1));
                m.insert(key, Value::String(value));
            }
            Ok(Value::Object(m))
        }
    }
}

/// The header line of a csv/tsv file.
pub fn header_line(cfg: &FileConfig, fields: &[String]) -> String {
    join(fields, cfg.value_delimiter(), &cfg.line_delimiter) + &cfg.line_delimiter
}

fn select(data: &Value, fields: &[String]) -> Value {
    match data {
        Value::Object(m) if !fields.is_empty() => Value::Object(
            fields
                .iter()
                .filter_map(|f| m.get(f).map(|v| (f.clone(), v.clone())))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn csv_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A batch in the format, each record followed by `line_delimiter` (json: one array). `fields`
/// are the csv columns (or, for ldjson/json, the kept keys when not empty).
pub fn encode_batch(
    cfg: &FileConfig,
    batch: &[&Record],
    fields: &[String],
) -> Result<Vec<u8>, String> {
    let delim = &cfg.line_delimiter;
    let mut out = String::new();
    match cfg.format {
        Format::Json => {
            let mut bytes = Vec::new();
            if fields.is_empty() {
                let all: Vec<&Value> = batch.iter().map(|r| &r.data).collect();
                write_json(&mut bytes, &all)?;
            } else {
                let all: Vec<Value> = batch.iter().map(|r| select(&r.data, fields)).collect();
                write_json(&mut bytes, &all)?;
            }
            bytes.extend_from_slice(delim.as_bytes());
            return Ok(bytes);
        }
        Format::Ldjson => {
            // Serialised straight into the body: no copy of the record, no string per line.
            let mut bytes = Vec::with_capacity(batch.len() * 256);
            for r in batch {
                if fields.is_empty() {
                    write_json(&mut bytes, &r.data)?;
                } else {
                    write_json(&mut bytes, &select(&r.data, fields))?;
                }
                bytes.extend_from_slice(delim.as_bytes());
            }
            return Ok(bytes);
        }
        Format::Csv | Format::Tsv => {
            for r in batch {
                let values: Vec<String> = fields.iter().map(|f| csv_value(r.data.get(f))).collect();
                out.push_str(&join(&values, cfg.value_delimiter(), delim));
                out.push_str(delim);
            }
        }
        Format::Raw => {
            for r in batch {
                let text = match &r.data {
                    Value::String(s) => s,
                    Value::Object(m) => match m.get("data") {
                        Some(Value::String(s)) => s,
                        _ => return Err(raw_error(&r.data)),
                    },
                    _ => return Err(raw_error(&r.data)),
                };
                out.push_str(text);
                out.push_str(delim);
            }
        }
    }
    Ok(out.into_bytes())
}

fn write_json(out: &mut Vec<u8>, value: &impl serde::Serialize) -> Result<(), String> {
    serde_json::to_writer(out, value).map_err(|e| format!("cannot serialise a record as JSON: {e}"))
}

fn raw_error(data: &Value) -> String {
    let shown: String = data.to_string().chars().take(200).collect();
    format!(
        "format raw needs each record to be a string or {{\"data\": \"<string>\"}}, got {shown}"
    )
}

/// The records of a whole `json` file: each element of an array, or the one object.
pub fn decode_json_file(text: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(other) => Ok(vec![other]),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}
