//! `file_exporter`: writes each slice's records to files under `path` (Teraslice's `file`
//! asset). Every worker writes only its own files, so workers never interleave lines:
//! `<path>/<worker_id>.<n><extension>` (n = 0, 1, … per slice) with `file_per_slice` (the
//! default, and always for `json`), else one `<path>/<worker_id><extension>` appended to.
//! A record with metadata `standard:route` goes to the sub-directory `<path>/<route>/`.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::file_format::{
    encode_batch, header_line, resolve_within, validate_op_within, FileApi, FileConfig, FileRoots,
    Format, Side,
};
use teraslice_runtime::ops::{
    BatchProcessor, OpContext, OpError, OpRegistry, OperationLifecycle, ProcessorFactory, Record,
};

/// The metadata key Teraslice's routers set.
const ROUTE: &str = "standard:route";

/// Writes only under `roots` (`teraslice.file_roots`).
pub struct FileExporter {
    roots: FileRoots,
}

/// Registers the processor and its `file_sender_api`, limited to `roots`.
pub fn register_with(registry: &mut OpRegistry, roots: FileRoots) {
    registry.register_api(
        "file_sender_api",
        FileApi {
            side: Side::Sender,
            roots: roots.clone(),
        },
    );
    registry.register_processor("file_exporter", FileExporter { roots });
}

impl ProcessorFactory for FileExporter {
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        validate_op_within(config, Side::Sender, "file_exporter", &self.roots)
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let cfg = resolve_within(ctx, Side::Sender, &self.roots)?;
        let worker = crate::file_format::key_safe_worker_id(ctx, "-_.");
        Ok(Box::new(Exporter {
            cfg,
            worker,
            next: HashMap::new(),
            columns: Vec::new(),
            ready: HashSet::new(),
        }))
    }
}

struct Exporter {
    cfg: FileConfig,
    worker: String,
    /// The number of the next per-slice file, per directory.
    next: HashMap<PathBuf, u64>,
    /// csv/tsv columns: `fields`, else the first record's keys (kept for every later slice).
    columns: Vec<String>,
    /// Directories already created.
    ready: HashSet<PathBuf>,
}

fn failed(p: &Path, e: std::io::Error) -> OpError {
    OpError::new(format!(
        "file_exporter: cannot write \"{}\": {e}",
        p.display()
    ))
}

impl Exporter {
    fn columns(&mut self, batch: &[Record]) -> Vec<String> {
        if !self.cfg.fields.is_empty() {
            return self.cfg.fields.clone();
        }
        if matches!(self.cfg.format, Format::Csv | Format::Tsv) && self.columns.is_empty() {
            if let Some(Value::Object(m)) = batch.first().map(|r| &r.data) {
                self.columns = m.keys().cloned().collect();
            }
        }
        self.columns.clone()
    }

    /// `<path>` or `<path>/<route>`; a route may not climb out of `path`.
    fn dir_for(&self, record: &Record) -> Result<PathBuf, OpError> {
        let base = PathBuf::from(&self.cfg.path);
        let Some(route) = record.get_metadata(ROUTE).and_then(Value::as_str) else {
            return Ok(base);
        };
        if route.is_empty() {
            return Ok(base);
        }
        if !Path::new(route)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(OpError::non_retryable(format!(
                "file_exporter: metadata {ROUTE} must be a relative path without \"..\", got \"{route}\""
            )));
        }
        Ok(base.join(route))
    }

    fn create_dir(&mut self, dir: &Path) -> Result<(), OpError> {
        if !self.ready.contains(dir) {
            std::fs::create_dir_all(dir).map_err(|e| {
                OpError::non_retryable(format!(
                    "file_exporter path \"{}\": cannot create the directory: {e}",
                    dir.display()
                ))
            })?;
            self.ready.insert(dir.to_path_buf());
        }
        Ok(())
    }

    /// Writes `body` (plus a header when the file is new) to this worker's next file in `dir`.
    fn write(
        &mut self,
        dir: &Path,
        body: &[u8],
        header: Option<String>,
    ) -> Result<PathBuf, OpError> {
        self.create_dir(dir)?;
        let (path, mut file) = if self.cfg.file_per_slice {
            let next = self.next.entry(dir.to_path_buf()).or_insert(0);
            loop {
                let p = dir.join(format!("{}.{}{}", self.worker, next, self.cfg.extension));
                *next += 1;
                // Never overwrite: a restarted worker with the same id skips files it left.
                match OpenOptions::new().write(true).create_new(true).open(&p) {
                    Ok(f) => break (p, f),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(failed(&p, e)),
                }
            }
        } else {
            let p = dir.join(format!("{}{}", self.worker, self.cfg.extension));
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&p)
                .map_err(|e| failed(&p, e))?;
            (p, f)
        };
        let is_new = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
        let mut out = Vec::with_capacity(body.len() + 128);
        if let Some(h) = header.filter(|_| is_new) {
            out.extend_from_slice(h.as_bytes());
        }
        out.extend_from_slice(body);
        // Appended slices are whole gzip members / LZ4 frames, which readers read in turn.
        let out = self
            .cfg
            .compression
            .compress(out)
            .map_err(|e| failed(&path, e))?;
        // One write per slice on an O_APPEND file: a crash never leaves half a slice mid-file.
        file.write_all(&out).map_err(|e| failed(&path, e))?;
        Ok(path)
    }
}

#[async_trait]
impl OperationLifecycle for Exporter {
    async fn initialize(&mut self) -> Result<(), OpError> {
        let base = PathBuf::from(&self.cfg.path);
        self.create_dir(&base)
    }
}

#[async_trait]
impl BatchProcessor for Exporter {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let columns = self.columns(&batch);
        let mut by_dir: BTreeMap<PathBuf, Vec<&Record>> = BTreeMap::new();
        for r in &batch {
            by_dir.entry(self.dir_for(r)?).or_default().push(r);
        }
        let csv = matches!(self.cfg.format, Format::Csv | Format::Tsv);
        let header = (csv && self.cfg.include_header).then(|| header_line(&self.cfg, &columns));
        for (dir, records) in by_dir {
            let body = encode_batch(&self.cfg, &records, &columns)
                .map_err(|e| OpError::non_retryable(format!("file_exporter: {e}")))?;
            // One append per slice and directory, small enough to do in place.
            let path = self.write(&dir, &body, header.clone())?;
            tracing::debug!(path = %path.display(), records = records.len(), "file_exporter: wrote slice");
        }
        Ok(batch)
    }
}
