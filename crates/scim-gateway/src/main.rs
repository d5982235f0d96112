use std::process::ExitCode;

use scim_gateway::{Application, Config};
use telemetry::{LogFormat, TelemetryConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("scim-gateway: {error}");
            return ExitCode::from(64);
        }
    };
    let telemetry = match telemetry::init(&TelemetryConfig {
        service_name: "scim-gateway",
        otlp_endpoint: config.common.otlp_endpoint.clone(),
        log_format: if config.common.log_json { LogFormat::Json } else { LogFormat::Text },
        log_filter: config.common.log_filter.clone(),
    }) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("scim-gateway: {error}");
            return ExitCode::from(64);
        }
    };
    let shutdown = service_kit::shutdown::on_signal();
    let result = match Application::build(config).await {
        Ok(app) => {
            if let Ok(addr) = app.local_addr() {
                tracing::info!(%addr, "SCIM gateway listening");
            }
            app.run_until_stopped(shutdown).await
        }
        Err(error) => Err(error),
    };
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scim-gateway: {error:#}");
            ExitCode::FAILURE
        }
    }
}
