//! Typed environment configuration. Every error names the variable, so a
//! misconfigured deployment says exactly what to fix at start-up.

use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is required")]
    Missing { name: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Reads a variable through `lookup` (normally `std::env::var`), falling back
/// to `default` when it is unset or empty.
pub fn parse_or<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match lookup(name).filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|error: T::Err| ConfigError::Invalid {
                name,
                value,
                reason: error.to_string(),
            }),
    }
}

pub fn string_or(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> String {
    lookup(name)
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

pub fn optional(lookup: &impl Fn(&str) -> Option<String>, name: &'static str) -> Option<String> {
    lookup(name).filter(|value| !value.trim().is_empty())
}

/// The process environment as a lookup function.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Settings every service reads the same way.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub nats_url: String,
    pub event_namespace: String,
    pub stream_replicas: usize,
    pub admin_token: String,
    pub otlp_endpoint: Option<String>,
    pub log_filter: String,
    pub log_json: bool,
}

pub const DEV_ADMIN_TOKEN: &str = "dev-admin-token";

impl CommonConfig {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let log_format = string_or(lookup, "LOG_FORMAT", "text");
        let log_json = match log_format.as_str() {
            "text" => false,
            "json" => true,
            other => {
                return Err(ConfigError::Invalid {
                    name: "LOG_FORMAT",
                    value: other.to_owned(),
                    reason: "expected text or json".into(),
                });
            }
        };
        Ok(Self {
            nats_url: string_or(lookup, "NATS_URL", "nats://127.0.0.1:4222"),
            event_namespace: string_or(lookup, "EVENT_NAMESPACE", "scim"),
            stream_replicas: parse_or(lookup, "NATS_STREAM_REPLICAS", 1)?,
            admin_token: string_or(lookup, "ADMIN_TOKEN", DEV_ADMIN_TOKEN),
            otlp_endpoint: optional(lookup, "OTEL_EXPORTER_OTLP_ENDPOINT"),
            log_filter: string_or(lookup, "RUST_LOG", "info"),
            log_json,
        })
    }
}

/// The environment variable names and defaults of one backend service.
#[derive(Debug, Clone, Copy)]
pub struct BackendEnv {
    pub database_url: &'static str,
    pub default_database_url: &'static str,
    pub grpc_addr: &'static str,
    pub default_grpc_port: u16,
    pub metrics_addr: &'static str,
    pub default_metrics_port: u16,
}

/// Configuration of a gRPC service that consumes events into its own database.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub common: CommonConfig,
    pub database_url: String,
    pub grpc_addr: std::net::SocketAddr,
    pub metrics_addr: std::net::SocketAddr,
}

impl BackendConfig {
    pub fn from_env(env: &BackendEnv) -> Result<Self, ConfigError> {
        Self::from_lookup(env, &process_env)
    }

    pub fn from_lookup(
        env: &BackendEnv,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let loopback = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
        Ok(Self {
            common: CommonConfig::from_lookup(lookup)?,
            database_url: string_or(lookup, env.database_url, env.default_database_url),
            grpc_addr: parse_or(lookup, env.grpc_addr, loopback(env.default_grpc_port))?,
            metrics_addr: parse_or(lookup, env.metrics_addr, loopback(env.default_metrics_port))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let config = CommonConfig::from_lookup(&env(&[("NATS_URL", " ")])).unwrap();
        assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.stream_replicas, 1);
        assert!(!config.log_json);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let error =
            CommonConfig::from_lookup(&env(&[("NATS_STREAM_REPLICAS", "three")])).unwrap_err();
        assert!(
            error.to_string().contains("NATS_STREAM_REPLICAS"),
            "{error}"
        );
        let error = CommonConfig::from_lookup(&env(&[("LOG_FORMAT", "xml")])).unwrap_err();
        assert!(error.to_string().contains("LOG_FORMAT"), "{error}");
    }
}
