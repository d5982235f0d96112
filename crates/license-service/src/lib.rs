//! License pools per SCIM configuration.
//!
//! The service follows the directory stream and assigns seats first come,
//! first served in stream order, releases them when a user is deactivated or
//! deleted, and never assigns more seats than a pool has (I6). Every decision
//! is committed together with the projection checkpoint and an outbox row
//! (I5), then published to JetStream as a license event.

mod app;
mod arrivals;
mod config;
mod error;
mod grpc;
mod licensing;
mod members;
mod metrics;
mod offerings;
mod projection;

pub use app::Application;
pub use config::{Config, DEFAULT_DATABASE_URL, ENV};
pub use error::ServiceError;
pub use service_kit::config::ConfigError;

/// The service as a process runs it: configuration from the environment, then the shared
/// service loop (telemetry, serve until SIGTERM or Ctrl-C, drain). Exits 64 on a configuration
/// error and 1 when the service fails.
pub async fn serve_from_env() -> std::process::ExitCode {
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
