//! Typed environment configuration. Every error names the variable, so a
//! misconfigured deployment says exactly what to fix at start-up.

use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is required: {reason}")]
    Missing {
        name: &'static str,
        reason: &'static str,
    },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("environment variable {name} would send data across the network without TLS: {reason} ({flag}=true allows it on a development stack)", flag = crate::transport::ALLOW_PLAINTEXT_NETWORK)]
    Plaintext { name: &'static str, reason: String },
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
    /// `NATS_USER` and `NATS_PASSWORD`: this service's own NATS login (its permissions are in
    /// `event_store::access`); `None` on a server without authorization.
    pub nats_credential: Option<crate::nats::Credential>,
    /// `NATS_TLS_CA`: NATS over TLS, the server checked against this CA (PEM file).
    pub nats_tls_ca: Option<std::path::PathBuf>,
    pub event_namespace: String,
    pub stream_replicas: usize,
    pub admin_token: String,
    /// `ALLOW_DEV_ADMIN_TOKEN=true`: a missing or short `ADMIN_TOKEN` is accepted, for a
    /// stack on one machine; the service says so in a warning at start.
    pub allow_dev_admin_token: bool,
    /// `OPERATOR_CREDENTIALS`: named operators, by the SHA-256 of their secret.
    pub operator_credentials: Vec<crate::admin_auth::NamedOperator>,
    /// `GRPC_TLS_CERT`, `GRPC_TLS_KEY`, `GRPC_TLS_CA`: this service's gRPC identity. Read
    /// by every service; one that serves or calls gRPC does not start without it.
    pub grpc_tls: Option<crate::grpc_tls::GrpcTlsFiles>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` and its TLS settings.
    pub otlp: telemetry::OtlpSettings,
    /// `ALLOW_PLAINTEXT_NETWORK=true`: Postgres, NATS and OTLP on other hosts may go without
    /// TLS (a development stack on one host); see [`crate::transport`].
    pub allow_plaintext_network: bool,
    pub log_filter: String,
    pub log_json: bool,
}

/// The operator credential of a development stack. It is public (it is in this file), so a
/// service uses it only when `ALLOW_DEV_ADMIN_TOKEN=true` says this is not a deployment.
pub const DEV_ADMIN_TOKEN: &str = "dev-admin-token";

/// The shortest `ADMIN_TOKEN` accepted without the development flag. The credential guards
/// every tenant's data and is compared on every admin call, so a guessable word must not pass.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

const ALLOW_DEV_ADMIN_TOKEN: &str = "ALLOW_DEV_ADMIN_TOKEN";

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
        let allow_dev_admin_token = parse_or(lookup, ALLOW_DEV_ADMIN_TOKEN, false)?;
        let allow_plaintext_network =
            parse_or(lookup, crate::transport::ALLOW_PLAINTEXT_NETWORK, false)?;
        let nats_url = crate::nats::url_without_credential(string_or(
            lookup,
            "NATS_URL",
            "nats://127.0.0.1:4222",
        ))?;
        let nats_tls_ca: Option<std::path::PathBuf> =
            optional(lookup, "NATS_TLS_CA").map(Into::into);
        crate::transport::check_nats_url(
            &nats_url,
            nats_tls_ca.is_some(),
            allow_plaintext_network,
        )?;
        let otlp = otlp_settings(lookup)?;
        if let Some(endpoint) = &otlp.endpoint {
            crate::transport::check_otlp_endpoint(endpoint, allow_plaintext_network)?;
        }
        Ok(Self {
            nats_url,
            nats_credential: crate::nats::Credential::from_lookup(lookup)?,
            nats_tls_ca,
            event_namespace: string_or(lookup, "EVENT_NAMESPACE", "scim"),
            stream_replicas: parse_or(lookup, "NATS_STREAM_REPLICAS", 1)?,
            admin_token: admin_token(lookup, allow_dev_admin_token)?,
            allow_dev_admin_token,
            operator_credentials: operator_credentials(lookup)?,
            grpc_tls: crate::grpc_tls::GrpcTlsFiles::from_lookup(lookup)?,
            otlp,
            allow_plaintext_network,
            log_filter: string_or(lookup, "RUST_LOG", "info"),
            log_json,
        })
    }

    /// The Postgres URL in `name` (or `default`), refused when it would reach another host
    /// without a verified TLS connection (see [`crate::transport::check_database_url`]).
    pub fn database_url(
        &self,
        lookup: &impl Fn(&str) -> Option<String>,
        name: &'static str,
        default: &str,
    ) -> Result<String, ConfigError> {
        let url = string_or(lookup, name, default);
        crate::transport::check_database_url(name, &url, self.allow_plaintext_network)?;
        Ok(url)
    }

    /// What a service logs at start when the development flag relaxed the operator
    /// credential's checks, so that a deployment started with it by mistake is noticed.
    pub fn dev_admin_token_warning(&self) -> Option<String> {
        if !self.allow_dev_admin_token {
            return None;
        }
        Some(if self.admin_token == DEV_ADMIN_TOKEN {
            format!(
                "{ALLOW_DEV_ADMIN_TOKEN}=true and no ADMIN_TOKEN: the operator API accepts the \
                 public development token {DEV_ADMIN_TOKEN:?}; never run a deployment like this"
            )
        } else {
            format!(
                "{ALLOW_DEV_ADMIN_TOKEN}=true: ADMIN_TOKEN is not checked for length; never run \
                 a deployment like this"
            )
        })
    }
}

fn operator_credentials(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<crate::admin_auth::NamedOperator>, ConfigError> {
    const NAME: &str = "OPERATOR_CREDENTIALS";
    let Some(list) = optional(lookup, NAME) else {
        return Ok(Vec::new());
    };
    crate::admin_auth::NamedOperator::parse_list(&list).map_err(|reason| ConfigError::Invalid {
        name: NAME,
        value: list.clone(),
        reason,
    })
}

/// `ADMIN_TOKEN`, required and at least [`MIN_ADMIN_TOKEN_CHARS`] long unless the
/// development flag allows the public [`DEV_ADMIN_TOKEN`] (or any short token).
fn admin_token(
    lookup: &impl Fn(&str) -> Option<String>,
    allow_dev_admin_token: bool,
) -> Result<String, ConfigError> {
    const NAME: &str = "ADMIN_TOKEN";
    match optional(lookup, NAME) {
        None if allow_dev_admin_token => Ok(DEV_ADMIN_TOKEN.to_owned()),
        None => Err(ConfigError::Missing {
            name: NAME,
            reason: "the operator credential has no default; set a long random value \
                     (e.g. `openssl rand -base64 32`), or ALLOW_DEV_ADMIN_TOKEN=true on a \
                     development machine",
        }),
        Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_CHARS && !allow_dev_admin_token => {
            Err(ConfigError::Invalid {
                name: NAME,
                // The value is a secret: the error shows only its length.
                value: format!("<{} characters>", token.chars().count()),
                reason: format!(
                    "the operator credential guards every tenant's data and must be at least \
                     {MIN_ADMIN_TOKEN_CHARS} characters, so that it cannot be guessed; use a \
                     long random value (e.g. `openssl rand -base64 32`)"
                ),
            })
        }
        Some(token) => Ok(token),
    }
}

/// Where spans go: `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP over gRPC), and for an `https://`
/// collector with a private CA, `OTEL_EXPORTER_OTLP_CERTIFICATE` (the CA, PEM), and for one
/// that asks for client certificates, `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
/// `OTEL_EXPORTER_OTLP_CLIENT_KEY` (the names OpenTelemetry's specification gives them).
fn otlp_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<telemetry::OtlpSettings, ConfigError> {
    let path = |name| optional(lookup, name).map(std::path::PathBuf::from);
    let client_identity = match (
        path("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
        path("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                name: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                reason: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is set, and needs its key",
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                name: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                reason: "OTEL_EXPORTER_OTLP_CLIENT_KEY is set, and needs its certificate",
            });
        }
    };
    Ok(telemetry::OtlpSettings {
        endpoint: optional(lookup, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ca: path("OTEL_EXPORTER_OTLP_CERTIFICATE"),
        client_identity,
    })
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
        let common = CommonConfig::from_lookup(lookup)?;
        Ok(Self {
            database_url: common.database_url(
                lookup,
                env.database_url,
                env.default_database_url,
            )?,
            common,
            grpc_addr: parse_or(lookup, env.grpc_addr, loopback(env.default_grpc_port))?,
            metrics_addr: parse_or(lookup, env.metrics_addr, loopback(env.default_metrics_port))?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A lookup over `pairs`, for the configuration tests of this crate.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// A token long enough to pass the length check.
    const OPERATOR_TOKEN: &str = "0123456789abcdef-operator";

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        let config =
            CommonConfig::from_lookup(&env(&[("NATS_URL", " "), ("ADMIN_TOKEN", OPERATOR_TOKEN)]))
                .unwrap();
        assert_eq!(config.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.stream_replicas, 1);
        assert!(!config.log_json);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let error = CommonConfig::from_lookup(&env(&[
            ("NATS_STREAM_REPLICAS", "three"),
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("NATS_STREAM_REPLICAS"),
            "{error}"
        );
        let error = CommonConfig::from_lookup(&env(&[
            ("LOG_FORMAT", "xml"),
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("LOG_FORMAT"), "{error}");
    }

    #[test]
    fn operator_credentials_are_read_and_a_malformed_list_names_the_variable() {
        let digest = "0".repeat(64);
        let entry = format!("alice:{digest}");
        let config = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", "a-long-enough-operator-secret"),
            ("OPERATOR_CREDENTIALS", &entry),
        ]))
        .unwrap();
        assert_eq!(config.operator_credentials.len(), 1);
        assert_eq!(config.operator_credentials[0].name, "alice");
        let error = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", "a-long-enough-operator-secret"),
            ("OPERATOR_CREDENTIALS", "alice"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("OPERATOR_CREDENTIALS"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_admin_token_stops_the_service_naming_the_variable() {
        let error = CommonConfig::from_lookup(&env(&[])).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Missing {
                    name: "ADMIN_TOKEN",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("ADMIN_TOKEN"), "{error}");
        assert!(
            error.to_string().contains("ALLOW_DEV_ADMIN_TOKEN"),
            "the error says how a developer gets past it: {error}"
        );
    }

    #[test]
    fn an_empty_admin_token_counts_as_missing() {
        for blank in ["", "   "] {
            let error = CommonConfig::from_lookup(&env(&[("ADMIN_TOKEN", blank)])).unwrap_err();
            assert!(
                matches!(
                    error,
                    ConfigError::Missing {
                        name: "ADMIN_TOKEN",
                        ..
                    }
                ),
                "{blank:?}: {error:?}"
            );
        }
    }

    #[test]
    fn a_short_admin_token_is_refused_without_showing_it() {
        let short = "a".repeat(MIN_ADMIN_TOKEN_CHARS - 1);
        let error = CommonConfig::from_lookup(&env(&[("ADMIN_TOKEN", &short)])).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    name: "ADMIN_TOKEN",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(text.contains("at least 16 characters"), "{text}");
        assert!(
            !text.contains(&short),
            "the secret stays out of the error: {text}"
        );
        let exactly_long_enough = "a".repeat(MIN_ADMIN_TOKEN_CHARS);
        let config =
            CommonConfig::from_lookup(&env(&[("ADMIN_TOKEN", &exactly_long_enough)])).unwrap();
        assert_eq!(config.admin_token, exactly_long_enough);
    }

    #[test]
    fn the_development_flag_allows_the_dev_token_and_says_so() {
        let config = CommonConfig::from_lookup(&env(&[("ALLOW_DEV_ADMIN_TOKEN", "true")])).unwrap();
        assert_eq!(config.admin_token, DEV_ADMIN_TOKEN);
        let warning = config.dev_admin_token_warning().unwrap();
        assert!(warning.contains(DEV_ADMIN_TOKEN), "{warning}");

        let config = CommonConfig::from_lookup(&env(&[
            ("ALLOW_DEV_ADMIN_TOKEN", "true"),
            ("ADMIN_TOKEN", "short"),
        ]))
        .unwrap();
        assert_eq!(config.admin_token, "short");
        assert!(config.dev_admin_token_warning().is_some());

        let error =
            CommonConfig::from_lookup(&env(&[("ALLOW_DEV_ADMIN_TOKEN", "yes")])).unwrap_err();
        assert!(
            error.to_string().contains("ALLOW_DEV_ADMIN_TOKEN"),
            "{error}"
        );
    }

    #[test]
    fn an_explicit_admin_token_is_used_without_a_warning() {
        let config = CommonConfig::from_lookup(&env(&[("ADMIN_TOKEN", OPERATOR_TOKEN)])).unwrap();
        assert_eq!(config.admin_token, OPERATOR_TOKEN);
        assert!(!config.allow_dev_admin_token);
        assert_eq!(config.dev_admin_token_warning(), None);
        let config = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("ALLOW_DEV_ADMIN_TOKEN", "false"),
        ]))
        .unwrap();
        assert_eq!(config.admin_token, OPERATOR_TOKEN);
    }

    #[test]
    fn plaintext_to_another_host_is_refused_unless_the_development_flag_is_set() {
        let backend = BackendEnv {
            database_url: "LICENSE_DATABASE_URL",
            default_database_url: "postgres://postgres@127.0.0.1/scim_license",
            grpc_addr: "LICENSE_GRPC_ADDR",
            default_grpc_port: 1,
            metrics_addr: "LICENSE_METRICS_ADDR",
            default_metrics_port: 2,
        };
        let remote_database = [
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            (
                "LICENSE_DATABASE_URL",
                "postgres://app:pw@db.internal/scim_license",
            ),
        ];
        let error = BackendConfig::from_lookup(&backend, &env(&remote_database)).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Plaintext {
                    name: "LICENSE_DATABASE_URL",
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error.to_string().contains("ALLOW_PLAINTEXT_NETWORK"),
            "{error}"
        );
        let mut allowed = remote_database.to_vec();
        allowed.push(("ALLOW_PLAINTEXT_NETWORK", "true"));
        BackendConfig::from_lookup(&backend, &env(&allowed)).unwrap();

        let error = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("NATS_URL", "nats://nats.nats.svc:4222"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Plaintext {
                    name: "NATS_URL",
                    ..
                }
            ),
            "{error}"
        );
        let error = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Plaintext {
                    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn an_otlp_client_certificate_needs_its_key() {
        let error = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/otlp/tls.crt"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
            "{error}"
        );
        let config = CommonConfig::from_lookup(&env(&[
            ("ADMIN_TOKEN", OPERATOR_TOKEN),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/otlp/ca.crt"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/otlp/tls.crt"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/otlp/tls.key"),
        ]))
        .unwrap();
        assert_eq!(config.otlp.ca, Some("/etc/otlp/ca.crt".into()));
        assert_eq!(
            config.otlp.client_identity,
            Some(("/etc/otlp/tls.crt".into(), "/etc/otlp/tls.key".into()))
        );
    }
}
