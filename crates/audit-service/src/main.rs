//! Entry point of the audit service: everything is in [`audit_service::serve_from_env`], which the chaos
//! harness also runs as a process of its own.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    audit_service::serve_from_env().await
}
