//! `file_reader`: reads ldjson / json / csv / tsv / raw files local to the workers (Teraslice's
//! `file` asset). The slicer walks `path` (a file, or every file under a directory, skipping
//! names that start with `.`) and cuts each file into byte ranges of `size` on record
//! boundaries, or one slice per file with `file_per_slice` (the default) or `json`.
mod chunk;
pub(crate) mod decode;
mod fetcher;

use std::collections::VecDeque;
use std::path::Path;

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::file_format::{resolve_within, validate_op_within, FileApi, FileRoots, Side};
pub use chunk::FileSlice;
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OpRegistry, ReaderFactory, SliceRequest, Slicer,
    SlicerRecoveryData,
};

/// Reads only under `roots` (`teraslice.file_roots`).
pub struct FileReader {
    roots: FileRoots,
}

/// Registers the reader and its `file_reader_api`, limited to `roots`.
pub fn register_with(registry: &mut OpRegistry, roots: FileRoots) {
    registry.register_api(
        "file_reader_api",
        FileApi {
            side: Side::Reader,
            roots: roots.clone(),
        },
    );
    registry.register_reader("file_reader", FileReader { roots });
}

impl ReaderFactory for FileReader {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate_op_within(config, Side::Reader, "file_reader", &self.roots)
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let cfg = resolve_within(ctx, Side::Reader, &self.roots)?;
        let files = list_files(&cfg.path).map_err(OpError::non_retryable)?;
        tracing::info!(path = %cfg.path, files = files.len(), "file_reader: slicing");
        Ok(vec![Box::new(FileSlicer::new(
            cfg.size,
            &cfg.line_delimiter,
            cfg.read_whole(),
            files,
        ))])
    }

    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        let cfg = resolve_within(ctx, Side::Reader, &self.roots)?;
        let ctx = crate::file_format::with_api_dead_letter_action(ctx);
        Ok(Box::new(fetcher::FileFetcher::new(cfg, ctx)))
    }
}

/// Every readable file under `path` with its size, sorted by path.
pub fn list_files(path: &str) -> Result<Vec<(String, u64)>, String> {
    let cannot = |p: &Path, e: std::io::Error| {
        format!("file_reader path \"{}\": cannot read: {e}", p.display())
    };
    let root = Path::new(path);
    let meta = std::fs::metadata(root).map_err(|e| cannot(root, e))?;
    if meta.is_file() {
        return Ok(vec![(path.to_string(), meta.len())]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| cannot(&dir, e))? {
            let entry = entry.map_err(|e| cannot(&dir, e))?;
            // Teraslice's canReadFile: hidden files and directories are skipped.
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = entry.path();
            let mut meta = std::fs::symlink_metadata(&p).map_err(|e| cannot(&p, e))?;
            if meta.is_symlink() {
                // Follow links to files only: a linked directory could loop.
                meta = std::fs::metadata(&p).map_err(|e| cannot(&p, e))?;
                if meta.is_dir() {
                    continue;
                }
            }
            if meta.is_dir() {
                dirs.push(p);
            } else if meta.is_file() {
                out.push((p.to_string_lossy().into_owned(), meta.len()));
            }
        }
    }
    if out.is_empty() {
        return Err(format!(
            "file_reader path \"{path}\": the directory holds no files to read"
        ));
    }
    out.sort();
    Ok(out)
}

/// Walks the files, one slice request per call.
pub(crate) struct FileSlicer {
    size: u64,
    delim_len: u64,
    whole: bool,
    files: VecDeque<(String, u64)>,
    /// The file being cut: (path, total, next chunk).
    current: Option<(String, u64, u64)>,
}

impl FileSlicer {
    /// Slices of `size` bytes (whole files with `whole`) of `files` (path, bytes), in order.
    pub(crate) fn new(size: u64, delimiter: &str, whole: bool, files: Vec<(String, u64)>) -> Self {
        let delim_len = delimiter.len() as u64;
        FileSlicer {
            // A chunk must be longer than the delimiter for the boundary rule to hold.
            size: size.max(delim_len + 1),
            delim_len,
            whole,
            files: files.into(),
            current: None,
        }
    }

    fn chunks(&self, total: u64) -> u64 {
        if self.whole {
            u64::from(total > 0)
        } else {
            chunk::chunk_count(self.size, total)
        }
    }
}

#[async_trait]
impl Slicer for FileSlicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        let Some(last) = recovery.and_then(|r| r.last_slice.as_ref()) else {
            return Ok(());
        };
        let last: FileSlice = serde_json::from_value(last.clone()).map_err(|e| {
            OpError::non_retryable(format!("file_reader: cannot resume from slice {last}: {e}"))
        })?;
        // Files are cut in path order, so everything up to the last slice is done.
        while self.files.front().is_some_and(|(p, _)| *p < last.path) {
            self.files.pop_front();
        }
        if let Some((p, total)) = self.files.front().cloned().filter(|(p, _)| *p == last.path) {
            self.files.pop_front();
            let next = if self.whole || last.offset == 0 {
                1
            } else {
                (last.offset + self.delim_len) / self.size + 1
            };
            self.current = Some((p, total, next));
        }
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        loop {
            if let Some((path, total, next)) = self.current.take() {
                if next < self.chunks(total) {
                    let (offset, length) = if self.whole {
                        (0, total)
                    } else {
                        chunk::chunk(next, self.size, total, self.delim_len)
                    };
                    let req = FileSlice {
                        path: path.clone(),
                        offset,
                        length,
                        total,
                    };
                    self.current = Some((path, total, next + 1));
                    return serde_json::to_value(req)
                        .map(Some)
                        .map_err(|e| OpError::non_retryable(e.to_string()));
                }
            }
            match self.files.pop_front() {
                Some((path, total)) => self.current = Some((path, total, 0)),
                None => return Ok(None),
            }
        }
    }

    fn is_recoverable(&self) -> bool {
        true
    }
}
