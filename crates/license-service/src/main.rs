//! Entry point of the license service: everything is in [`license_service::serve_from_env`], which the chaos
//! harness also runs as a process of its own.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    license_service::serve_from_env().await
}
