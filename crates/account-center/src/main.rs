//! Entry point of the account center: everything is in [`account_center::serve_from_env`], which the chaos
//! harness also runs as a process of its own.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    account_center::serve_from_env().await
}
