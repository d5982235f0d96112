//! Entry point of the account center: configuration from the environment, then the shared
//! service loop.

use std::process::ExitCode;

use account_center::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::main_loop::run_service(
        "account-center",
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
