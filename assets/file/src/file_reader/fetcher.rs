//! The worker side of `file_reader`: reads one slice's lines and decodes them.
use async_trait::async_trait;
use serde_json::{json, Value};

use super::chunk::{read_all, read_lines, FileSlice};
use crate::file_format::{decode_json_file, decode_line, parse_header, FileConfig, Format};
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OperationLifecycle, Record, SliceRequest,
};

pub struct FileFetcher {
    cfg: FileConfig,
    ctx: OpContext,
}

impl FileFetcher {
    pub fn new(cfg: FileConfig, ctx: OpContext) -> Self {
        FileFetcher { cfg, ctx }
    }
}

/// A decoded line, or the line and why it could not be decoded.
type Decoded = Result<Value, (String, String)>;

fn read_slice(cfg: &FileConfig, slice: &FileSlice) -> std::io::Result<Vec<Decoded>> {
    if cfg.format == Format::Json {
        let bytes = read_all(&slice.path)?;
        let text = String::from_utf8_lossy(&bytes);
        return Ok(match decode_json_file(&text) {
            Ok(items) => items.into_iter().map(Ok).collect(),
            Err(e) => vec![Err((text.chars().take(200).collect(), e))],
        });
    }
    let delim = cfg.line_delimiter.as_bytes();
    let csv = matches!(cfg.format, Format::Csv | Format::Tsv);
    let mut header = cfg.fields.clone();
    let mut skip_first = false;
    if csv && (header.is_empty() || (cfg.remove_header && slice.offset == 0)) {
        // Without `fields` the file's first line names the columns.
        let first = FileSlice {
            offset: 0,
            length: 1,
            ..slice.clone()
        };
        let line = read_lines(&first, delim)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let names = parse_header(cfg, &String::from_utf8_lossy(&line));
        skip_first = slice.offset == 0 && (header.is_empty() || names == header);
        if header.is_empty() {
            header = names;
        }
    }
    let lines = read_lines(slice, delim)?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, raw) in lines.into_iter().enumerate() {
        if i == 0 && skip_first {
            continue;
        }
        let line = match String::from_utf8(raw) {
            Ok(line) => line,
            Err(e) => {
                let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
                out.push(Err((shown, "not valid UTF-8".to_string())));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        out.push(decode_line(cfg, &line, &header).map_err(|e| (line, e)));
    }
    Ok(out)
}

impl OperationLifecycle for FileFetcher {}

#[async_trait]
impl Fetcher for FileFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        let slice: FileSlice = serde_json::from_value(request.clone()).map_err(|e| {
            OpError::non_retryable(format!(
                "file_reader: a slice request must be {{path, offset, length, total}}, got {request}: {e}"
            ))
        })?;
        let cfg = self.cfg.clone();
        let s = slice.clone();
        // File reads block: keep them off the async worker threads.
        let decoded = tokio::task::spawn_blocking(move || read_slice(&cfg, &s))
            .await
            .map_err(|e| OpError::new(format!("file_reader: read task failed: {e}")))?
            .map_err(|e| {
                OpError::new(format!("file_reader: cannot read \"{}\": {e}", slice.path))
            })?;
        let mut records = Vec::with_capacity(decoded.len());
        for d in decoded {
            match d {
                Ok(data) => {
                    let mut r = Record::new(data);
                    r.set_metadata("path", json!(slice.path));
                    records.push(r);
                }
                Err((line, why)) => {
                    let shown: String = line.chars().take(200).collect();
                    let err = OpError::non_retryable(format!(
                        "file_reader: \"{}\" (slice at byte {}): {why}: {shown}",
                        slice.path, slice.offset
                    ));
                    self.ctx.reject_record(&Record::new(json!(line)), err)?;
                }
            }
        }
        Ok(records)
    }
}
