//! Entry point of the license service: configuration from the environment, then the shared
//! service loop.

use std::process::ExitCode;

use license_service::{Application, Config, ENV};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::main_loop::run_service(
        "license-service",
        Config::from_env(&ENV),
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
