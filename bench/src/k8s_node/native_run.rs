//! The baseline of the slice rate: the same job through `teraslice run` (master, native backend,
//! the EC and the workers as processes on the host) with its state in the same OpenSearch.
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::process::Command;

use super::slices::{self, Completed};

/// Runs `job` to its end with state in the OpenSearch at `store` under cluster name `cluster`.
pub async fn run(
    teraslice: &Path,
    http: &reqwest::Client,
    store: &str,
    cluster: &str,
    job: &Value,
) -> anyhow::Result<Completed> {
    let teraslice = std::fs::canonicalize(teraslice)
        .with_context(|| format!("the teraslice binary {}", teraslice.display()))?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("teraslice.yaml");
    std::fs::write(
        &config,
        format!(
            "terafoundation:\n  connectors:\n    elasticsearch-next:\n      default:\n        node: [\"{store}\"]\n\
             teraslice:\n  name: {cluster}\n  cluster_manager_type: native\n  state:\n    connection_type: elasticsearch-next\n"
        ),
    )?;
    let job_path = dir.path().join("job.json");
    std::fs::write(&job_path, job.to_string())?;
    let out = Command::new(&teraslice)
        .current_dir(dir.path())
        .args(["run", "--quiet", "-c"])
        .arg(&config)
        .arg(&job_path)
        .stderr(Stdio::null())
        .output()
        .await?;
    let summary = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "teraslice run with state in OpenSearch failed ({}): {summary}",
            out.status
        );
    }
    let ex_id = crate::dispatch_native::ex_id_of_summary(&summary)?;
    slices::completed(http, store, cluster, ex_id).await
}
