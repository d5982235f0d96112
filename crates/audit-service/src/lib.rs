//! The provisioning log.
//!
//! Records every event on the stream, accepted writes, license decisions and
//! rejected requests alike, exactly once (I7): the row's key is the stream
//! sequence and rows are committed together with the checkpoint (I5). The
//! log is append-only, enforced by the database as well as by having no
//! update or delete code path, and tamper-evident: each tenant's records form
//! a hash chain (`chain`) that `AuditQuery.Verify` walks (`verify`). The
//! service acts as a role that may only read and append it (`database`).
//! Support staff query it over gRPC, record by record or as failure rates per
//! time bucket.

mod app;
mod chain;
mod config;
mod database;
mod error;
mod failure_rate;
mod grpc;
mod projection;
mod query;
mod record;
mod verify;

pub use app::Application;
pub use config::{Config, DATABASE_ROLE, DEFAULT_DATABASE_URL, ENV, database_role};
pub use error::ServiceError;
pub use failure_rate::{DEFAULT_BUCKET_SECONDS, DEFAULT_THRESHOLD_PERCENT};
pub use query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use service_kit::config::ConfigError;

/// The service as a process runs it: configuration from the environment, then the shared
/// service loop (telemetry, serve until SIGTERM or Ctrl-C, drain). Exits 64 on a configuration
/// error and 1 when the service fails.
pub async fn serve_from_env() -> std::process::ExitCode {
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
