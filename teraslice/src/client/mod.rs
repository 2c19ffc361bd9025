//! The CLI client (issue #4 fills this in).
#[derive(clap::Subcommand)]
pub enum ClientCommand {}

pub async fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {}
}
