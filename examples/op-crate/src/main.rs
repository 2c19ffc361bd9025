//! `teraslice-with-ops`: the `teraslice` command with this crate's ops next to the built-in
//! ones. Its execution controllers and workers run this same program, so they have the ops too.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let mut ops = teraslice::default_ops();
    teraslice_example_op_crate::register(&mut ops);
    teraslice::Teraslice::new().ops(ops).main()
}
