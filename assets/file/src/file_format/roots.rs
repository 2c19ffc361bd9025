//! `teraslice.file_roots`: the directories `file_reader` and `file_exporter` may use. A path is
//! resolved first (made absolute, `..` and symlinks followed; a path that does not exist yet is
//! resolved through its nearest existing ancestor), then must lie under one of the roots
//! (resolved the same way). Unset: any path, as in Teraslice.
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use teraslice_core::job::ValidationError;

/// The allowed directories; `None` allows any path.
#[derive(Debug, Clone, Default)]
pub struct FileRoots(Option<Arc<[PathBuf]>>);

impl FileRoots {
    /// Any path.
    #[cfg(test)]
    pub fn any() -> Self {
        FileRoots(None)
    }

    pub fn new(roots: Option<Vec<PathBuf>>) -> Self {
        FileRoots(roots.map(|list| {
            list.iter()
                .map(|r| resolve(r).unwrap_or_else(|_| r.clone()))
                .collect()
        }))
    }

    /// `Err` naming `path`, what it resolved to and the roots, when it lies outside them.
    pub fn check(&self, op: &str, path: &str) -> Result<(), String> {
        let Some(roots) = &self.0 else {
            return Ok(());
        };
        let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        let resolved = resolve(Path::new(path))
            .map_err(|e| format!("{op} path \"{path}\" cannot be resolved ({e}), so it cannot be checked against teraslice.file_roots: {}", shown.join(", ")))?;
        if roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(());
        }
        Err(format!(
            "{op} path \"{path}\" (resolved to {}) is outside teraslice.file_roots: {}; use a path under one of them",
            resolved.display(),
            shown.join(", ")
        ))
    }

    /// [`FileRoots::check`] as a validation error of the op's `path`.
    pub fn validate(&self, op: &str, path: Option<&str>) -> Vec<ValidationError> {
        match path.map(|p| self.check(op, p)) {
            Some(Err(message)) => vec![ValidationError {
                path: "path".into(),
                message,
            }],
            _ => Vec::new(),
        }
    }
}

/// `path` made absolute with `..` and symlinks followed. The nearest existing ancestor is
/// canonicalized; the components below it do not exist, so no symlink can hide among them and
/// their `..` are taken lexically.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut missing: Vec<Component> = Vec::new();
    let base = loop {
        match existing.canonicalize() {
            Ok(p) => break p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(parent) = existing.parent() else {
                    return Err(e);
                };
                missing.extend(existing.components().next_back());
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    };
    let mut out = base;
    for c in missing.into_iter().rev() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_resolved_through_dot_dot_and_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("data");
        let outside = dir.path().join("secret");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
        let roots = FileRoots::new(Some(vec![root.clone()]));
        let p = |s: &str| root.join(s).display().to_string();
        assert!(roots.check("file_reader", &p("in.json")).is_ok());
        assert!(
            roots.check("file_exporter", &p("new/deeper/out")).is_ok(),
            "not yet existing"
        );
        for bad in [
            p("../secret/x"),
            p("link/x"),
            p("new/../../secret"),
            "/etc/passwd".into(),
        ] {
            let err = roots.check("file_reader", &bad).expect_err(&bad);
            assert!(
                err.contains(&bad)
                    && err.contains("teraslice.file_roots")
                    && err.contains(&root.canonicalize().unwrap().display().to_string()),
                "{err}"
            );
        }
        assert!(FileRoots::any().check("file_reader", "/etc/passwd").is_ok());
    }
}
