//! Entry point of the directory service: configuration from the environment, then the shared
//! service loop.

use std::process::ExitCode;

use directory_service::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::main_loop::run_service(
        "directory-service",
        Config::from_env(),
        |config| &config.common,
        |config, shutdown| async move {
            Application::build(config)
                .await?
                .run_until_stopped(shutdown)
                .await
        },
    )
    .await
}
