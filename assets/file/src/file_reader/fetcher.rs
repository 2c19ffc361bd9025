//! The worker side of `file_reader`: reads one slice's lines and decodes them.
use async_trait::async_trait;
use serde_json::json;

use super::chunk::{read_all, read_lines, FileSlice};
use super::decode::{decode_lines, decode_whole, needs_first_line, Decoded};
use crate::file_format::FileConfig;
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

fn read_slice(cfg: &FileConfig, slice: &FileSlice) -> std::io::Result<Vec<Decoded>> {
    if cfg.read_whole() {
        let bytes = cfg.compression.decompress(read_all(&slice.path)?)?;
        return Ok(decode_whole(cfg, &bytes));
    }
    let delim = cfg.line_delimiter.as_bytes();
    let at_start = slice.offset == 0;
    let first = if needs_first_line(cfg, at_start) {
        let first = FileSlice {
            offset: 0,
            length: 1,
            ..slice.clone()
        };
        Some(
            read_lines(&first, delim)?
                .into_iter()
                .next()
                .unwrap_or_default(),
        )
    } else {
        None
    };
    let lines = read_lines(slice, delim)?;
    Ok(decode_lines(cfg, lines, first.as_deref(), at_start))
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
