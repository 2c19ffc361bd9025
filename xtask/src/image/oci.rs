//! Writes a one-layer image as a docker-archive tar (what `docker save` writes and
//! `ctr images import` reads), without a Docker daemon.
//!
//! The layer is written to a temporary file first while its sha256 (the diff id) is computed, so
//! large trees (a JDK, OpenSearch) are streamed, never held in memory.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// Where an entry's content comes from.
pub enum Source {
    /// Literal file content.
    Bytes(Vec<u8>),
    /// A file on the host, copied (symlinks are followed).
    HostFile(PathBuf),
    /// A host folder copied recursively below the entry's path (symlinks stay symlinks).
    #[allow(dead_code)] // for the teraslice and OpenSearch images
    HostTree(PathBuf),
    /// An empty directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
}

/// One entry of the image's file system.
pub struct Entry {
    /// Absolute path inside the image, e.g. `/bin/busybox`.
    pub path: String,
    pub source: Source,
    /// Permission bits (e.g. 0o755); ignored for symlinks and trees (which keep the host's).
    pub mode: u32,
}

impl Entry {
    pub fn bytes(path: &str, bytes: impl Into<Vec<u8>>, mode: u32) -> Self {
        Entry {
            path: path.into(),
            source: Source::Bytes(bytes.into()),
            mode,
        }
    }

    pub fn host_file(path: &str, host: impl Into<PathBuf>, mode: u32) -> Self {
        Entry {
            path: path.into(),
            source: Source::HostFile(host.into()),
            mode,
        }
    }

    #[allow(dead_code)] // for the teraslice and OpenSearch images
    pub fn host_tree(path: &str, host: impl Into<PathBuf>) -> Self {
        Entry {
            path: path.into(),
            source: Source::HostTree(host.into()),
            mode: 0o755,
        }
    }

    pub fn dir(path: &str, mode: u32) -> Self {
        Entry {
            path: path.into(),
            source: Source::Dir,
            mode,
        }
    }

    pub fn symlink(path: &str, target: &str) -> Self {
        Entry {
            path: path.into(),
            source: Source::Symlink(target.into()),
            mode: 0o777,
        }
    }
}

/// The image config's runtime part (what a Dockerfile's ENTRYPOINT, CMD, ENV, USER, WORKDIR set).
#[derive(Default)]
pub struct Config {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=value`.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
}

/// Writes `entries` as one layer plus `config` to a docker-archive at `out`, tagged `tags`
/// (full references such as `localhost/busybox:test`).
pub fn write_docker_archive(
    out: &Path,
    tags: &[&str],
    entries: &[Entry],
    config: &Config,
) -> Result<()> {
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let layer_path = out.with_extension("layer.tmp");
    let diff_id = write_layer(&layer_path, entries)
        .with_context(|| format!("writing the image layer {}", layer_path.display()))?;
    let config_json = config_json(config, &diff_id);
    let config_name = format!("{}.json", sha256_hex(config_json.as_bytes()));
    let layer_name = format!("{diff_id}/layer.tar");
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": tags,
        "Layers": [layer_name],
    }])
    .to_string();

    let file = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut archive = tar::Builder::new(io::BufWriter::new(file));
    append_bytes(&mut archive, &config_name, config_json.as_bytes(), 0o644)?;
    archive
        .append_path_with_name(&layer_path, &layer_name)
        .context("adding the layer")?;
    append_bytes(&mut archive, "manifest.json", manifest.as_bytes(), 0o644)?;
    archive
        .into_inner()
        .context("finishing the archive")?
        .flush()
        .context("writing the archive")?;
    fs::remove_file(&layer_path).with_context(|| format!("removing {}", layer_path.display()))
}

/// The layer tar; returns its sha256 in hex.
fn write_layer(path: &Path, entries: &[Entry]) -> Result<String> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut layer = tar::Builder::new(HashingWriter {
        inner: io::BufWriter::new(file),
        hash: Sha256::new(),
    });
    layer.follow_symlinks(false);
    let mut dirs = std::collections::BTreeSet::new();
    for entry in entries {
        let rel = relative(&entry.path)?;
        // Parent folders first, once each, so the runtime never guesses their modes.
        let mut parent = Path::new(&rel).parent();
        let mut missing = Vec::new();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if dirs.insert(p.to_path_buf()) {
                missing.push(p.to_path_buf());
            }
            parent = p.parent();
        }
        for dir in missing.iter().rev() {
            append_dir(&mut layer, &dir.display().to_string(), 0o755)?;
        }
        match &entry.source {
            Source::Bytes(bytes) => append_bytes(&mut layer, &rel, bytes, entry.mode)?,
            Source::HostFile(host) => {
                let bytes =
                    fs::read(host).with_context(|| format!("reading {}", host.display()))?;
                append_bytes(&mut layer, &rel, &bytes, entry.mode)?;
            }
            Source::HostTree(host) => {
                if !host.is_dir() {
                    bail!("{} is not a folder", host.display());
                }
                layer
                    .append_dir_all(&rel, host)
                    .with_context(|| format!("adding {}", host.display()))?;
            }
            Source::Dir => {
                if dirs.insert(PathBuf::from(&rel)) {
                    append_dir(&mut layer, &rel, entry.mode)?;
                }
            }
            Source::Symlink(target) => {
                let mut header = header(tar::EntryType::Symlink, 0o777, 0);
                layer
                    .append_link(&mut header, &rel, target)
                    .with_context(|| format!("adding the link {rel}"))?;
            }
        }
    }
    let writer = layer.into_inner().context("finishing the layer")?;
    let HashingWriter { mut inner, hash } = writer;
    inner.flush().context("writing the layer")?;
    Ok(hex(&hash.finalize()))
}

fn relative(path: &str) -> Result<String> {
    let rel = path.trim_start_matches('/').trim_end_matches('/');
    if rel.is_empty() || rel.split('/').any(|part| part == "..") {
        bail!("bad path in image: {path:?}");
    }
    Ok(rel.to_string())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, rel: &str, mode: u32) -> Result<()> {
    let mut header = header(tar::EntryType::Directory, mode, 0);
    tar.append_data(&mut header, format!("{rel}/"), io::empty())
        .with_context(|| format!("adding the folder {rel}"))
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    rel: &str,
    bytes: &[u8],
    mode: u32,
) -> Result<()> {
    let mut header = header(tar::EntryType::Regular, mode, bytes.len() as u64);
    tar.append_data(&mut header, rel, bytes)
        .with_context(|| format!("adding {rel}"))
}

/// The OCI/Docker image config for one layer with `diff_id`.
fn config_json(config: &Config, diff_id: &str) -> String {
    let mut run = serde_json::Map::new();
    if !config.entrypoint.is_empty() {
        run.insert("Entrypoint".into(), serde_json::json!(config.entrypoint));
    }
    if !config.cmd.is_empty() {
        run.insert("Cmd".into(), serde_json::json!(config.cmd));
    }
    if !config.env.is_empty() {
        run.insert("Env".into(), serde_json::json!(config.env));
    }
    if let Some(user) = &config.user {
        run.insert("User".into(), serde_json::json!(user));
    }
    if let Some(dir) = &config.workdir {
        run.insert("WorkingDir".into(), serde_json::json!(dir));
    }
    serde_json::json!({
        "architecture": go_arch(),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "cargo xtask"}],
    })
    .to_string()
}

/// The image architecture in Go's naming (what runtimes match against the host).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_has_manifest_config_and_a_layer_whose_digest_matches() {
        let dir = std::env::temp_dir().join(format!("xtask-oci-test-{}", std::process::id()));
        let out = dir.join("img.tar");
        let tree = dir.join("tree");
        fs::create_dir_all(tree.join("sub")).expect("tree");
        fs::write(tree.join("sub/f"), "x").expect("tree file");
        let entries = [
            Entry::bytes("/bin/hello", b"#!/bin/sh\necho hi\n".to_vec(), 0o755),
            Entry::symlink("/bin/hi", "hello"),
            Entry::dir("/tmp", 0o1777),
            Entry::host_tree("/opt/tree", &tree),
        ];
        let config = Config {
            cmd: vec!["/bin/hello".into()],
            ..Config::default()
        };
        write_docker_archive(&out, &["localhost/hello:test"], &entries, &config).expect("write");
        let mut files = std::collections::BTreeMap::new();
        let mut archive = tar::Archive::new(fs::File::open(&out).expect("open"));
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("path").display().to_string();
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
            files.insert(name, bytes);
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&files["manifest.json"]).expect("manifest");
        assert_eq!(manifest[0]["RepoTags"][0], "localhost/hello:test");
        let layer_name = manifest[0]["Layers"][0].as_str().expect("layer");
        let config_name = manifest[0]["Config"].as_str().expect("config");
        let layer = &files[layer_name];
        let config: serde_json::Value =
            serde_json::from_slice(&files[config_name]).expect("config");
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{}", sha256_hex(layer))
        );
        assert_eq!(config["config"]["Cmd"][0], "/bin/hello");
        let mut names = Vec::new();
        for entry in tar::Archive::new(&layer[..]).entries().expect("layer") {
            names.push(
                entry
                    .expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string(),
            );
        }
        assert_eq!(
            names,
            [
                "bin/",
                "bin/hello",
                "bin/hi",
                "tmp/",
                "opt/",
                "opt/tree/",
                "opt/tree/sub",
                "opt/tree/sub/f"
            ]
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
