//! `s3_reader`: the slicer lists every object under the path's prefix (recursively, keys with a
//! segment starting with `.` skipped) and cuts each into byte ranges on line boundaries exactly
//! as `file_reader` cuts files; the fetcher reads one range (plus the rest of its last line) or
//! the whole object (json, `file_per_slice`, compressed) and decodes it with the same codecs.
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
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
    decode_lines, decode_whole, find, needs_first_line, split_lines, Decoded,
};
use crate::file_reader::{FileSlice, FileSlicer};

/// Bytes read past a slice's end in its one ranged GET, to finish its last line.
const READ_AHEAD: u64 = 64 * 1024;

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

/// Reads on from `start` to the end of the first `delim` (or `total`), in reads that double
/// from `READ_AHEAD`; `carry` is the end of what was read before, so a delimiter split across
/// reads is found.
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
    let mut step = READ_AHEAD;
    while start < total {
        let end = (start + step).min(total);
        let chunk = store.get_range(key, start..end).await?;
        out.extend_from_slice(&chunk);
        if let Some(at) = find(&out[searched_from..], delim) {
            out.truncate(searched_from + at + delim.len());
            break;
        }
        searched_from = out.len().saturating_sub(delim.len().saturating_sub(1));
        start = end;
        step = step.saturating_mul(2);
    }
    Ok(out.split_off(carry.len()))
}

/// Where the text of a slice read as `buf` ends: the end of the first delimiter that ends at or
/// after `range_len` (the slice's own bytes), or `None` when `buf` holds no such delimiter.
fn line_end(buf: &[u8], range_len: usize, delim: &[u8]) -> Option<usize> {
    if delim.is_empty() || buf[..range_len.min(buf.len())].ends_with(delim) {
        return Some(range_len.min(buf.len()));
    }
    // A delimiter may start up to `delim.len() - 1` bytes before the range's end.
    let from = range_len.saturating_sub(delim.len() - 1);
    find(buf.get(from..)?, delim).map(|at| from + at + delim.len())
}

/// A slice's text: its byte range and the rest of its last line (never past the object). A
/// slice that is the whole object is one plain GET; otherwise one ranged GET reads
/// `READ_AHEAD` bytes past the range, and only a last line longer than that needs more reads.
async fn read_text(
    store: &dyn ObjectStore,
    key: &Path,
    slice: &FileSlice,
    delim: &[u8],
) -> object_store::Result<Bytes> {
    let end = slice.offset + slice.length;
    if slice.offset == 0 && end >= slice.total {
        return store.get(key).await?.bytes().await;
    }
    let ahead = (end + READ_AHEAD).min(slice.total).max(end);
    let mut text = store.get_range(key, slice.offset..ahead).await?;
    let range_len = usize::try_from(slice.length).unwrap_or(usize::MAX);
    match line_end(&text, range_len, delim) {
        Some(cut) => text.truncate(cut),
        None if ahead < slice.total => {
            let more = read_through_delimiter(store, key, ahead, slice.total, delim, &text).await?;
            let mut joined = Vec::with_capacity(text.len() + more.len());
            joined.extend_from_slice(&text);
            joined.extend_from_slice(&more);
            text = Bytes::from(joined);
        }
        // The object's last line, without a final delimiter.
        None => {}
    }
    Ok(text)
}

/// The decoded lines (or whole object) of one slice.
async fn read_slice(
    store: &dyn ObjectStore,
    cfg: &FileConfig,
    slice: &FileSlice,
) -> object_store::Result<Vec<Decoded>> {
    let key = Path::from(slice.path.as_str());
    if cfg.read_whole() {
        let body = store.get(&key).await?.bytes().await?;
        let bytes = cfg.compression.decompress(Vec::from(body)).map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            }
        })?;
        return Ok(decode_whole(cfg, &bytes));
    }
    let delim = cfg.line_delimiter.as_bytes();
    let text = read_text(store, &key, slice, delim).await?;
    let at_start = slice.offset == 0;
    let mut lines = split_lines(&text, delim);
    if !at_start && !lines.is_empty() {
        // The tail of a line an earlier slice owns, or "" before a boundary delimiter.
        lines.remove(0);
    }
    let head;
    let first = if !needs_first_line(cfg, at_start) {
        None
    } else if at_start {
        Some(lines.first().copied().unwrap_or_default())
    } else {
        head = read_through_delimiter(store, &key, 0, slice.total, delim, &[]).await?;
        Some(
            split_lines(&head, delim)
                .first()
                .copied()
                .unwrap_or_default(),
        )
    };
    Ok(decode_lines(cfg, lines, first, at_start))
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
        // Every record's metadata is the slice (Teraslice); built once, cloned per record.
        let mut meta = Map::new();
        meta.insert("path".into(), json!(slice.path));
        meta.insert("offset".into(), json!(slice.offset));
        meta.insert("length".into(), json!(slice.length));
        meta.insert("total".into(), json!(slice.total));
        let mut records = Vec::with_capacity(decoded.len());
        for d in decoded {
            match d {
                Ok(data) => {
                    let mut r = Record::new(data);
                    r.metadata = meta.clone();
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
        PutMultipartOptions, PutOptions, PutPayload, PutResult,
    };

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

    /// An in-memory store that counts GET requests (whole or ranged).
    #[derive(Debug, Default)]
    struct CountingStore {
        inner: InMemory,
        gets: AtomicUsize,
    }

    impl std::fmt::Display for CountingStore {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "CountingStore")
        }
    }

    #[async_trait]
    impl ObjectStore for CountingStore {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    /// Puts `body` as `p/obj.ldjson` and reads `slice` of it: the values and the GETs it took.
    async fn read_one(body: &str, slice: FileSlice, size: u64) -> (Vec<Value>, usize) {
        let store = CountingStore::default();
        store
            .put(
                &Path::from(slice.path.as_str()),
                PutPayload::from(body.to_string().into_bytes()),
            )
            .await
            .expect("put");
        let got = read_slice(&store, &config("\n", size), &slice)
            .await
            .expect("read")
            .into_iter()
            .map(|d| d.unwrap_or_else(|(l, e)| panic!("{e}: {l}")))
            .collect();
        (got, store.gets.load(Ordering::SeqCst))
    }

    fn slice(offset: u64, length: u64, total: u64) -> FileSlice {
        FileSlice {
            path: "p/obj.ldjson".into(),
            offset,
            length,
            total,
        }
    }

    #[tokio::test]
    async fn an_object_no_larger_than_the_slice_is_one_get() {
        let body = "{\"a\":1}\n{\"a\":2}\n";
        let total = body.len() as u64;
        let (got, gets) = read_one(body, slice(0, total, total), 1000).await;
        assert_eq!(got, vec![json!({"a": 1}), json!({"a": 2})]);
        assert_eq!(gets, 1);
    }

    #[tokio::test]
    async fn a_range_ending_mid_line_finishes_it_in_the_same_get() {
        // The first slice ends inside the second line; the read-ahead holds its end.
        let body = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
        let total = body.len() as u64;
        let (got, gets) = read_one(body, slice(0, 10, total), 10).await;
        assert_eq!(got, vec![json!({"a": 1}), json!({"a": 2})]);
        assert_eq!(gets, 1);
        // The last slice (size 16: it starts on the delimiter before the third line) ends at
        // the object's end: no read-ahead.
        let (got, gets) = read_one(body, slice(15, total - 15, total), 16).await;
        assert_eq!(got, vec![json!({"a": 3})]);
        assert_eq!(gets, 1);
    }

    #[tokio::test]
    async fn a_last_line_longer_than_the_read_ahead_is_read_to_its_end() {
        let long = "x".repeat(usize::try_from(READ_AHEAD).expect("small") * 3);
        for final_delim in ["\n", ""] {
            let body = format!("{{\"a\":1}}\n{{\"long\":\"{long}\"}}{final_delim}");
            let total = body.len() as u64;
            // Reads past the read-ahead (then twice as far) until the line ends, or the object does.
            let (got, gets) = read_one(&body, slice(0, 10, total), 10).await;
            assert_eq!(got, vec![json!({"a": 1}), json!({"long": long})]);
            assert!(gets > 1, "{gets} GETs");
            // The next slice starts inside that line: it owns nothing.
            let (got, _) = read_one(&body, slice(19, 10, total), 10).await;
            assert!(got.is_empty(), "{got:?}");
        }
    }

    #[test]
    fn a_line_ends_at_the_first_delimiter_reaching_the_range_end() {
        // One- and two-byte delimiters, ending exactly at, straddling, or after the range end.
        assert_eq!(line_end(b"ab\ncd\n", 3, b"\n"), Some(3));
        assert_eq!(line_end(b"ab\ncd\n", 4, b"\n"), Some(6));
        assert_eq!(line_end(b"ab\r\ncd\r\n", 4, b"\r\n"), Some(4));
        assert_eq!(line_end(b"ab\r\ncd\r\n", 3, b"\r\n"), Some(4));
        assert_eq!(line_end(b"ab\r\ncd\r\n", 5, b"\r\n"), Some(8));
        assert_eq!(line_end(b"ab\ncd", 4, b"\n"), None);
    }

    #[test]
    fn keys_with_a_dot_segment_are_hidden() {
        assert!(hidden("a/.tmp/b.json"));
        assert!(hidden(".x"));
        assert!(!hidden("a/b.c/d"));
    }
}
