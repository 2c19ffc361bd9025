//! `cargo xtask k8s up|down|env` (issue #5 fills this in).
use crate::ServiceAction;

pub fn run(_action: ServiceAction) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask k8s is not implemented yet")
}
