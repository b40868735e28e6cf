//! Prints the OpenAPI document generated from the code (`cargo xtask openapi` stores it in
//! `docs/openapi.json`).

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    std::io::stdout().write_all(api::openapi::json().as_bytes())
}
