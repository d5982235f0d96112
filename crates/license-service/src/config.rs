//! The license service's configuration: the shared backend settings under its own defaults.

use service_kit::config::{BackendConfig, BackendEnv};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/scim_license";

pub type Config = BackendConfig;

pub const ENV: BackendEnv = BackendEnv {
    database_url: "LICENSE_DATABASE_URL",
    default_database_url: DEFAULT_DATABASE_URL,
    grpc_addr: "LICENSE_GRPC_ADDR",
    default_grpc_port: 50052,
    metrics_addr: "LICENSE_METRICS_ADDR",
    default_metrics_port: 9102,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let config = Config::from_lookup(&ENV, &test_support::minimal_env).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.grpc_addr.port(), 50052);
        assert_eq!(config.metrics_addr.port(), 9102);

        let error = Config::from_lookup(&ENV, &|name| match name {
            "LICENSE_GRPC_ADDR" => Some("nope".to_owned()),
            other => test_support::minimal_env(other),
        })
        .unwrap_err();
        assert!(error.to_string().contains("LICENSE_GRPC_ADDR"), "{error}");
    }
}
