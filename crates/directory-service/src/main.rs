//! Entry point of the directory service: everything is in [`directory_service::serve_from_env`], which the chaos
//! harness also runs as a process of its own.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    directory_service::serve_from_env().await
}
