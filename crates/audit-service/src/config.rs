use std::net::SocketAddr;

use service_kit::config::{CommonConfig, ConfigError, parse_or, process_env, string_or};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/scim_audit";

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub database_url: String,
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    /// Like [`Config::from_env`] with an injected environment, for tests.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_lookup(lookup)?,
            database_url: string_or(lookup, "AUDIT_DATABASE_URL", DEFAULT_DATABASE_URL),
            grpc_addr: parse_or(
                lookup,
                "AUDIT_GRPC_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 50053)),
            )?,
            metrics_addr: parse_or(
                lookup,
                "AUDIT_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9103)),
            )?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let config = Config::from_lookup(&|_| None).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.grpc_addr.port(), 50053);
        assert_eq!(config.metrics_addr.port(), 9103);

        let error =
            Config::from_lookup(&|name| (name == "AUDIT_GRPC_ADDR").then(|| "nope".to_owned()))
                .unwrap_err();
        assert!(error.to_string().contains("AUDIT_GRPC_ADDR"), "{error}");
    }
}
