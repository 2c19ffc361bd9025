//! `cargo xtask image teraslice|opensearch`: build an image as a docker-archive under
//! `~/.cache/teraslice-rs/images/` and import it into the real node of `cargo xtask k8s up`.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::oci::write_docker_archive;

#[derive(clap::Subcommand)]
pub enum ImageCommand {
    /// The teraslice image (examples/k8s/Dockerfile's layout) from the release binary.
    Teraslice {
        /// Image name, as the job's or config's `kubernetes_image` says it.
        #[arg(long, default_value = super::teraslice::DEFAULT_TAG)]
        tag: String,
        /// Use this binary instead of building `cargo build --release -p teraslice`.
        #[arg(long)]
        binary: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// OpenSearch (examples/k8s/elasticsearchDeployment.yaml) from the host's JDK and the home
    /// `cargo xtask opensearch` assembles.
    Opensearch {
        #[arg(long, default_value = super::opensearch::DEFAULT_TAG)]
        tag: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(clap::Args)]
pub struct Output {
    /// Only write the archive (to print its path), do not import it into the node.
    #[arg(long)]
    no_import: bool,
}

pub fn run(cmd: ImageCommand) -> Result<()> {
    let (tag, output) = match &cmd {
        ImageCommand::Teraslice { tag, output, .. } | ImageCommand::Opensearch { tag, output } => {
            (tag.clone(), output)
        }
    };
    let archive = match &cmd {
        ImageCommand::Teraslice { binary, .. } => {
            let binary = match binary {
                Some(b) => b.clone(),
                None => super::teraslice::build_release_binary()?,
            };
            teraslice_archive(&binary, &tag)?
        }
        ImageCommand::Opensearch { .. } => opensearch_archive(&tag)?,
    };
    println!("{}", archive.display());
    if !output.no_import {
        let started = Instant::now();
        super::import_image(&archive)?;
        eprintln!(
            "image: imported {tag} into the real node in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn archive_path(tag: &str) -> PathBuf {
    let file: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    crate::paths::cache_root()
        .join("images")
        .join(format!("{file}.tar"))
}

/// Writes the teraslice image for `binary` as `tag`; the archive's path.
pub fn teraslice_archive(binary: &std::path::Path, tag: &str) -> Result<PathBuf> {
    let started = Instant::now();
    let (entries, config) = super::teraslice::contents(binary)?;
    let out = archive_path(tag);
    write_docker_archive(&out, &[&full_reference(tag)], &entries, &config)?;
    eprintln!(
        "image: wrote {tag} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// Writes the OpenSearch image as `tag` unless this version's archive exists; its path.
pub fn opensearch_archive(tag: &str) -> Result<PathBuf> {
    let out = archive_path(tag);
    if out.is_file() {
        return Ok(out);
    }
    let started = Instant::now();
    let (entries, config) = super::opensearch::contents()?;
    write_docker_archive(&out, &[&full_reference(tag)], &entries, &config)?;
    eprintln!(
        "image: wrote {tag} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// `teraslice-k8sdev:1` as the kubelet asks containerd for it: `docker.io/library/teraslice-k8sdev:1`.
pub fn full_reference(tag: &str) -> String {
    let (name, rest) = match tag.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            return tag.to_string();
        }
        Some(_) => ("docker.io", tag.to_string()),
        None => ("docker.io", format!("library/{tag}")),
    };
    let rest = if rest
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':') || last.contains('@'))
    {
        rest
    } else {
        format!("{rest}:latest")
    };
    format!("{name}/{rest}")
}

/// The images the real-node tests run, built and imported into the node: the teraslice image
/// from the release binary (as `teraslice-k8sdev:1`, the examples' name) and OpenSearch.
/// Returns the variables the tests read.
pub fn ensure_test_images() -> Result<Vec<(String, String)>> {
    if !crate::k8s::node::is_running(&crate::k8s::run_dir()) {
        eprintln!("image: no real node runs: the teraslice and OpenSearch images are not built");
        return Ok(Vec::new());
    }
    let started = Instant::now();
    let binary = super::teraslice::build_release_binary()?;
    let tag = super::teraslice::DEFAULT_TAG;
    super::import_image(&teraslice_archive(&binary, tag)?)?;
    super::import_image(&opensearch_archive(super::opensearch::DEFAULT_TAG)?)?;
    eprintln!(
        "image: test images ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(vec![("TERASLICE_K8S_IMAGE".into(), tag.into())])
}

#[cfg(test)]
mod tests {
    use super::full_reference;

    #[test]
    fn short_names_get_docker_hubs_full_reference() {
        assert_eq!(
            full_reference("teraslice-k8sdev:1"),
            "docker.io/library/teraslice-k8sdev:1"
        );
        assert_eq!(
            full_reference("teraslice"),
            "docker.io/library/teraslice:latest"
        );
        assert_eq!(
            full_reference("opensearchproject/opensearch:2.19.1"),
            "docker.io/opensearchproject/opensearch:2.19.1"
        );
        assert_eq!(
            full_reference("localhost/busybox:test"),
            "localhost/busybox:test"
        );
        assert_eq!(
            full_reference("registry.local:5000/x/y:2"),
            "registry.local:5000/x/y:2"
        );
    }
}
