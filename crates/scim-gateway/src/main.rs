//! Entry point of the gateway: configuration from the environment, then the shared service loop.

use std::process::ExitCode;

use scim_gateway::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::main_loop::run_service(
        "scim-gateway",
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
