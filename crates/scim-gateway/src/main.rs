//! Entry point of the gateway: everything is in [`scim_gateway::serve_from_env`], which the chaos
//! harness also runs as a process of its own.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    scim_gateway::serve_from_env().await
}
