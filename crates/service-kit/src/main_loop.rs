//! The shape every service `main` shares: config, telemetry, build, serve
//! until a signal, drain, flush.

use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{CommonConfig, ConfigError};

/// EX_CONFIG from sysexits.h: the operator has to fix the environment.
const EXIT_CONFIG: u8 = 64;

/// Runs a service. `serve` builds it and runs it until the token is
/// cancelled (SIGTERM or Ctrl-C); buffered traces are flushed at exit.
pub async fn run_service<C, Fut>(
    service_name: &'static str,
    config: Result<C, ConfigError>,
    common: impl Fn(&C) -> &CommonConfig,
    serve: impl FnOnce(C, CancellationToken) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{service_name}: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let settings = common(&config);
    let telemetry = match telemetry::init(&telemetry::TelemetryConfig {
        service_name,
        otlp: settings.otlp.clone(),
        log_format: if settings.log_json {
            telemetry::LogFormat::Json
        } else {
            telemetry::LogFormat::Text
        },
        log_filter: settings.log_filter.clone(),
    }) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{service_name}: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(warning) = settings.dev_admin_token_warning() {
        tracing::warn!("{warning}");
    }
    let outcome = serve(config, crate::shutdown::on_signal()).await;
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "{service_name} failed");
            eprintln!("{service_name}: {error:#}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
