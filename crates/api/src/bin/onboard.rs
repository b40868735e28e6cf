//! The `onboard` binary: `serve`, `migrate`, `program …`, `keys rotate`, `call`.

/// mimalloc instead of glibc's allocator (default feature `mimalloc`; measured in
/// `docs/bench.md`, "Allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "mimalloc")]
    api::allocator::purge_freed_memory_at_once();
    api::cli::main()
}
