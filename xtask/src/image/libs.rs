//! What a dynamically linked host binary needs in an image: the shared libraries `ldd` lists
//! (and the program interpreter), copied to the same paths.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::oci::Entry;

/// The host paths of the libraries `binary` loads, as `ldd` resolves them; with `lenient`, a
/// library the host lacks is left out (a JDK's desktop parts link X11 libraries a headless
/// server never loads).
fn resolve(binary: &Path, lenient: bool) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // A static binary: `ldd` says "not a dynamic executable" and fails.
        if String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
            || text.contains("statically linked")
        {
            return Ok(Vec::new());
        }
        bail!(
            "ldd {} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/')),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
        if line.contains("not found") && !lenient {
            bail!("{}: a library is missing: {line}", binary.display());
        }
    }
    Ok(libs)
}

/// Image entries for the libraries of every binary in `binaries`, each once.
pub fn library_entries(binaries: &[PathBuf]) -> Result<Vec<Entry>> {
    entries(binaries, false)
}

/// The same, leaving out libraries the host does not have.
pub fn library_entries_lenient(binaries: &[PathBuf]) -> Result<Vec<Entry>> {
    entries(binaries, true)
}

fn entries(binaries: &[PathBuf], lenient: bool) -> Result<Vec<Entry>> {
    let mut seen = std::collections::BTreeSet::new();
    for binary in binaries {
        seen.extend(resolve(binary, lenient)?);
    }
    Ok(seen
        .into_iter()
        .map(|lib| Entry::host_file(&lib.display().to_string(), &lib, 0o755))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_of_a_dynamic_binary_lists_libc_and_the_interpreter() {
        let libs = resolve(Path::new("/bin/ls"), false).expect("ldd /bin/ls");
        assert!(
            libs.iter()
                .any(|l| l.display().to_string().contains("libc.so")),
            "{libs:?}"
        );
        assert!(
            libs.iter()
                .any(|l| l.display().to_string().contains("ld-linux")),
            "{libs:?}"
        );
    }
}
