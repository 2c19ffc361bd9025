//! `teraslice-command`: the `teraslice` command with the command backend registered, so
//! `teraslice.cluster_manager_type: command` runs executions through `teraslice.command.template`.
//! Its execution controllers and workers run this same program.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let mut backends = teraslice_core::backend_factory::BackendFactory::new();
    teraslice_example_command_backend::register(&mut backends);
    teraslice::Teraslice::new().backends(&backends).main()
}
