//! The `onboard` binary: `serve`, `migrate`, `program …`, `keys rotate`, `call`.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
