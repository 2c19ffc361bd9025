//! `s3_reader`: the slicer lists every object under the path's prefix (recursively, keys with a
//! segment starting with `.` skipped) and cuts each into byte ranges on line boundaries exactly
//! as `file_reader` cuts files; the fetcher reads one range (plus the rest of its last line) or
//! the whole object (json, `file_per_slice`, compressed) and decodes it with the same codecs.
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{json, Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OperationLifecycle, ReaderFactory, Record, SliceRequest, Slicer,
    SlicerRecoveryData,
};

use super::{resolve, Resolved};
use crate::file_format::{validate_op_for, FileConfig, Side, Store};
use crate::file_reader::decode::{
    decode_lines, decode_whole, needs_first_line, split_lines, Decoded,
};
use crate::file_reader::{FileSlice, FileSlicer};

/// Margin reads past a slice's end (to finish its last line) are this long.
const MARGIN: u64 = 64 * 1024;

pub struct S3Reader {
    pub connectors: Arc<Map<String, Value>>,
}

impl ReaderFactory for S3Reader {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        if config.contains_key("_api_name") || config.contains_key("api_name") {
            validate_op_for(config, Side::Reader, Store::S3)
        } else {
            super::check(config, Side::Reader)
        }
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let r = resolve(ctx, Side::Reader, &self.connectors)?;
        Ok(vec![Box::new(S3Slicer { r, inner: None })])
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        let r = resolve(ctx, Side::Reader, &self.connectors)?;
        let ctx = crate::file_format::with_api_dead_letter_action(ctx);
        Ok(Box::new(S3Fetcher { r, ctx }))
    }
}

/// Whether a key has a segment starting with `.` (Teraslice skips those objects).
fn hidden(key: &str) -> bool {
    key.split('/').any(|s| s.starts_with('.'))
}

struct S3Slicer {
    r: Resolved,
    /// Set once the objects are listed.
    inner: Option<FileSlicer>,
}

impl S3Slicer {
    async fn list(&self) -> Result<FileSlicer, OpError> {
        let r = &self.r;
        let prefix = Path::from(r.prefix.as_str());
        let listed: Vec<_> = r
            .store
            .list((!r.prefix.is_empty()).then_some(&prefix))
            .try_collect()
            .await
            .map_err(|e| {
                OpError::non_retryable(format!(
                    "s3_reader: cannot list bucket \"{}\" prefix \"{}\" through {}: {e}",
                    r.bucket, r.prefix, r.source
                ))
            })?;
        let mut objects: Vec<(String, u64)> = listed
            .into_iter()
            .map(|m| (m.location.to_string(), m.size))
            .filter(|(key, _)| !hidden(key))
            .collect();
        objects.sort();
        tracing::info!(bucket = %r.bucket, prefix = %r.prefix, objects = objects.len(), "s3_reader: slicing");
        Ok(FileSlicer::new(
            r.cfg.size,
            &r.cfg.line_delimiter,
            r.cfg.read_whole(),
            objects,
        ))
    }
}

#[async_trait]
impl Slicer for S3Slicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        let mut inner = self.list().await?;
        inner.initialize(recovery).await?;
        self.inner = Some(inner);
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        if self.inner.is_none() {
            self.inner = Some(self.list().await?);
        }
        match self.inner.as_mut() {
            Some(inner) => inner.slice().await,
            None => Ok(None),
        }
    }

    fn is_recoverable(&self) -> bool {
        true
    }
}

struct S3Fetcher {
    r: Resolved,
    ctx: OpContext,
}

impl OperationLifecycle for S3Fetcher {}

/// Reads on from `start` in `MARGIN` steps to the end of the first `delim` (or `total`);
/// `carry` is the end of what was read before, so a delimiter split across reads is found.
async fn read_through_delimiter(
    store: &dyn ObjectStore,
    key: &Path,
    mut start: u64,
    total: u64,
    delim: &[u8],
    carry: &[u8],
) -> object_store::Result<Vec<u8>> {
    let carry = &carry[carry.len().saturating_sub(delim.len().saturating_sub(1))..];
    let mut out = carry.to_vec();
    let mut searched_from = 0;
    while start < total {
        let end = (start + MARGIN).min(total);
        let chunk = store.get_range(key, start..end).await?;
        out.extend_from_slice(&chunk);
        if let Some(at) = out[searched_from..]
            .windows(delim.len().max(1))
            .position(|w| w == delim)
        {
            out.truncate(searched_from + at + delim.len());
            break;
        }
        searched_from = out.len().saturating_sub(delim.len().saturating_sub(1));
        start = end;
    }
    Ok(out.split_off(carry.len()))
}

/// The decoded lines (or whole object) of one slice.
async fn read_slice(
    store: &dyn ObjectStore,
    cfg: &FileConfig,
    slice: &FileSlice,
) -> object_store::Result<Vec<Decoded>> {
    let key = Path::from(slice.path.as_str());
    if cfg.read_whole() {
        let body = store.get(&key).await?.bytes().await?.to_vec();
        let bytes = cfg
            .compression
            .decompress(body)
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        return Ok(decode_whole(cfg, &bytes));
    }
    let delim = cfg.line_delimiter.as_bytes();
    let end = slice.offset + slice.length;
    let mut text = store.get_range(&key, slice.offset..end).await?.to_vec();
    if end < slice.total && !text.ends_with(delim) {
        // The last line runs past the range: read on to its end (never past the object).
        let more = read_through_delimiter(store, &key, end, slice.total, delim, &text).await?;
        text.extend(more);
    }
    let at_start = slice.offset == 0;
    let mut lines = split_lines(&text, delim);
    if !at_start && !lines.is_empty() {
        // The tail of a line an earlier slice owns, or "" before a boundary delimiter.
        lines.remove(0);
    }
    let first = if !needs_first_line(cfg, at_start) {
        None
    } else if at_start {
        Some(lines.first().cloned().unwrap_or_default())
    } else {
        let head = read_through_delimiter(store, &key, 0, slice.total, delim, &[]).await?;
        Some(
            split_lines(&head, delim)
                .into_iter()
                .next()
                .unwrap_or_default(),
        )
    };
    Ok(decode_lines(cfg, lines, first.as_deref(), at_start))
}

#[async_trait]
impl Fetcher for S3Fetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        let slice: FileSlice = serde_json::from_value(request.clone()).map_err(|e| {
            OpError::non_retryable(format!(
                "s3_reader: a slice request must be {{path, offset, length, total}}, got {request}: {e}"
            ))
        })?;
        let decoded = read_slice(self.r.store.as_ref(), &self.r.cfg, &slice)
            .await
            .map_err(|e| {
                OpError::new(format!(
                    "s3_reader: cannot read s3://{}/{} through {}: {e}",
                    self.r.bucket, slice.path, self.r.source
                ))
            })?;
        let meta = json!({"path": slice.path, "offset": slice.offset, "length": slice.length, "total": slice.total});
        let mut records = Vec::with_capacity(decoded.len());
        for d in decoded {
            match d {
                Ok(data) => {
                    let mut r = Record::new(data);
                    if let Value::Object(m) = &meta {
                        for (k, v) in m {
                            r.set_metadata(k.clone(), v.clone());
                        }
                    }
                    records.push(r);
                }
                Err((line, why)) => {
                    let shown: String = line.chars().take(200).collect();
                    let err = OpError::non_retryable(format!(
                        "s3_reader: s3://{}/{} (slice at byte {}): {why}: {shown}",
                        self.r.bucket, slice.path, slice.offset
                    ));
                    self.ctx.reject_record(&Record::new(json!(line)), err)?;
                }
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    fn config(delim: &str, size: u64) -> FileConfig {
        let mut m = Map::new();
        m.insert("path".into(), json!("b/p"));
        m.insert("line_delimiter".into(), json!(delim));
        m.insert("size".into(), json!(size));
        crate::file_format::parse_config_for(&m, Side::Reader, Store::S3)
            .unwrap_or_else(|e| panic!("config: {e:?}"))
    }

    /// Every line of an object is read exactly once whatever the slice size, with a one- or
    /// two-byte delimiter, lines of every length, and with or without a final delimiter.
    #[tokio::test]
    async fn every_line_is_read_once_across_byte_range_slices() {
        let store = InMemory::new();
        for delim in ["\n", "\r\n"] {
            for final_delim in [true, false] {
                let mut body = String::new();
                let want: Vec<Value> = (0..60)
                    .map(|i| json!({"i": i, "pad": "x".repeat(i * 7 % 23)}))
                    .collect();
                for (i, v) in want.iter().enumerate() {
                    body.push_str(&v.to_string());
                    if final_delim || i + 1 < want.len() {
                        body.push_str(delim);
                    }
                }
                let key = Path::from("p/obj.ldjson");
                store
                    .put(&key, PutPayload::from(body.clone().into_bytes()))
                    .await
                    .expect("put");
                let total = body.len() as u64;
                for size in [3, 7, 20, 33, 64, 100, 1000] {
                    let cfg = config(delim, size);
                    let mut slicer =
                        FileSlicer::new(size, delim, false, vec![("p/obj.ldjson".into(), total)]);
                    let mut got = Vec::new();
                    while let Some(req) = slicer.slice().await.expect("slice") {
                        let slice: FileSlice = serde_json::from_value(req).expect("slice request");
                        for d in read_slice(&store, &cfg, &slice).await.expect("read") {
                            got.push(d.unwrap_or_else(|(l, e)| {
                                panic!("{delim:?} size {size}: {e}: {l}")
                            }));
                        }
                    }
                    assert_eq!(
                        got, want,
                        "delimiter {delim:?}, size {size}, final delimiter {final_delim}"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_with_a_dot_segment_are_hidden() {
        assert!(hidden("a/.tmp/b.json"));
        assert!(hidden(".x"));
        assert!(!hidden("a/b.c/d"));
    }
}
