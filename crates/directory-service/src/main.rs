use std::process::ExitCode;

use directory_service::{Application, Config};
use telemetry::{LogFormat, TelemetryConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("directory-service: {error}");
            return ExitCode::from(64);
        }
    };
    let telemetry = match telemetry::init(&TelemetryConfig {
        service_name: "directory-service",
        otlp_endpoint: config.common.otlp_endpoint.clone(),
        log_format: if config.common.log_json { LogFormat::Json } else { LogFormat::Text },
        log_filter: config.common.log_filter.clone(),
    }) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("directory-service: {error}");
            return ExitCode::from(64);
        }
    };
    let shutdown = service_kit::shutdown::on_signal();
    let result = match Application::build(config).await {
        Ok(app) => app.run_until_stopped(shutdown).await,
        Err(error) => Err(error),
    };
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("directory-service: {error:#}");
            ExitCode::FAILURE
        }
    }
}
