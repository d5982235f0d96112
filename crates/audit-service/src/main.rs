use std::process::ExitCode;

use audit_service::{Application, Config};
use telemetry::{LogFormat, TelemetryConfig};

/// EX_CONFIG from sysexits.h: the operator has to fix the environment.
const EXIT_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("audit-service: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let telemetry = match telemetry::init(&TelemetryConfig {
        service_name: "audit-service",
        otlp_endpoint: config.common.otlp_endpoint.clone(),
        log_format: if config.common.log_json {
            LogFormat::Json
        } else {
            LogFormat::Text
        },
        log_filter: config.common.log_filter.clone(),
    }) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("audit-service: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let outcome = match Application::build(config).await {
        Ok(app) => {
            app.run_until_stopped(service_kit::shutdown::on_signal())
                .await
        }
        Err(error) => Err(error),
    };
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "audit-service failed");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
