//! Entry point of the audit service: configuration from the environment, then the shared
//! service loop.

use std::process::ExitCode;

use audit_service::{Application, Config, ENV, database_role};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::main_loop::run_service(
        "audit-service",
        Config::from_env(&ENV),
        |config| &config.common,
        |config, shutdown| async move {
            let role = database_role(&service_kit::config::process_env);
            Application::build_as(config, role)
                .await?
                .run_until_stopped(shutdown)
                .await
        },
    )
    .await
}
