//! `teraslice master` (issue #4 fills this in).
#[derive(clap::Args)]
pub struct MasterArgs {
    /// Teraslice YAML config file (also `TERAFOUNDATION_CONFIG`).
    #[arg(short = 'c', long = "config", env = "TERAFOUNDATION_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

pub async fn run(_args: MasterArgs) -> anyhow::Result<()> {
    anyhow::bail!("teraslice master is being written")
}
