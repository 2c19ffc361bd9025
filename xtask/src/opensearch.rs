//! `cargo xtask opensearch up|down|env` (issue #7 fills this in).
use crate::ServiceAction;

pub fn run(_action: ServiceAction) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask opensearch is not implemented yet")
}
