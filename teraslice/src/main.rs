//! The `teraslice` binary: the [`teraslice::Teraslice`] command with the built-in cluster
//! backends and operations. A build with more backends or ops is this file plus their crates
//! (see `docs/extending.md`).

/// mimalloc: the slice path allocates small objects at a high rate, and glibc's allocator
/// (returning freed memory to the kernel, then faulting it back in) halved dispatch throughput.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    teraslice::Teraslice::new().main()
}
