//! Which connections may go without TLS: only those that stay on this machine.
//!
//! gRPC is always TLS (`grpc_tls`). Postgres, NATS and the OTLP collector are named by URLs
//! from the environment, and a URL that leaves the machine without TLS that checks the
//! server would let anyone on the path read tenants' data or stand in for the server. So a
//! service refuses such a URL at start, naming the variable, unless
//! `ALLOW_PLAINTEXT_NETWORK=true` says this is a development stack (Docker Compose) where
//! the "network" is a bridge on one host.

use std::net::IpAddr;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::config::ConfigError;

/// The development flag that lets connections to other hosts go without TLS.
pub const ALLOW_PLAINTEXT_NETWORK: &str = "ALLOW_PLAINTEXT_NETWORK";

/// Whether `host` is this machine: `localhost`, a loopback address, or a Unix socket
/// directory (a path).
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || IpAddr::from_str(host).is_ok_and(|address| address.is_loopback())
}

/// Whether the database is on this machine (a Unix socket or a loopback host).
pub fn is_local_database(options: &PgConnectOptions) -> bool {
    options.get_socket().is_some() || is_local_host(options.get_host())
}

/// Whether `url` (or `PGSSLMODE`) chooses an sslmode itself.
pub fn names_ssl_mode(url: &str) -> bool {
    url.contains("sslmode=") || url.contains("ssl-mode=") || std::env::var_os("PGSSLMODE").is_some()
}

/// Refuses a Postgres URL that reaches another host without `sslmode=verify-ca` or
/// `verify-full` (`prefer` and `require` encrypt but accept any server certificate).
pub fn check_database_url(
    name: &'static str,
    url: &str,
    allow_plaintext: bool,
) -> Result<(), ConfigError> {
    let options = PgConnectOptions::from_str(url).map_err(|error| ConfigError::Invalid {
        name,
        value: "<the URL>".to_owned(),
        reason: error.to_string(),
    })?;
    let host = options.get_host();
    if allow_plaintext || is_local_database(&options) {
        return Ok(());
    }
    match options.get_ssl_mode() {
        PgSslMode::VerifyCa | PgSslMode::VerifyFull => Ok(()),
        mode => Err(ConfigError::Plaintext {
            name,
            reason: format!(
                "it reaches {host} with sslmode={}; add \
                 sslmode=verify-full&sslrootcert=<the server's CA file>",
                ssl_mode_name(mode)
            ),
        }),
    }
}

fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer (the default)",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// Refuses a NATS server list with a server on another host unless the connection is TLS:
/// `NATS_TLS_CA` set (the server checked against that CA) or a `tls://` URL.
pub fn check_nats_url(
    url: &str,
    tls_ca_set: bool,
    allow_plaintext: bool,
) -> Result<(), ConfigError> {
    if allow_plaintext || tls_ca_set {
        return Ok(());
    }
    for server in crate::nats::server_list(url) {
        let address: async_nats::ServerAddr =
            server
                .parse()
                .map_err(|error: std::io::Error| ConfigError::Invalid {
                    name: "NATS_URL",
                    value: server.to_owned(),
                    reason: error.to_string(),
                })?;
        if !address.tls_required() && !is_local_host(address.host()) {
            return Err(ConfigError::Plaintext {
                name: "NATS_URL",
                reason: format!(
                    "{server} is another host and the connection would be plaintext; set \
                     NATS_TLS_CA to the server's CA file"
                ),
            });
        }
    }
    Ok(())
}

/// Refuses an OTLP endpoint on another host over plain `http://`: spans carry request
/// attributes that must not cross a network in the clear.
pub fn check_otlp_endpoint(endpoint: &str, allow_plaintext: bool) -> Result<(), ConfigError> {
    if allow_plaintext {
        return Ok(());
    }
    let uri: http::Uri =
        endpoint
            .parse()
            .map_err(|error: http::uri::InvalidUri| ConfigError::Invalid {
                name: "OTEL_EXPORTER_OTLP_ENDPOINT",
                value: endpoint.to_owned(),
                reason: error.to_string(),
            })?;
    let plaintext = uri.scheme() == Some(&http::uri::Scheme::HTTP);
    if plaintext && !uri.host().is_some_and(is_local_host) {
        return Err(ConfigError::Plaintext {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            reason: format!(
                "{endpoint} is another host over plain http; use an https:// endpoint \
                 (OTEL_EXPORTER_OTLP_CERTIFICATE names its CA when it is private)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts_are_loopback_names_addresses_and_sockets() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.3.2.1",
            "::1",
            "[::1]",
            "/run/pg",
        ] {
            assert!(is_local_host(host), "{host}");
        }
        for host in ["postgres", "10.0.0.5", "db.example.com", "::ffff:10.0.0.1"] {
            assert!(!is_local_host(host), "{host}");
        }
    }

    #[test]
    fn a_database_on_another_host_needs_a_verified_certificate() {
        let name = "DIRECTORY_DATABASE_URL";
        for url in [
            "postgres://app:secret@db.internal:5432/directory",
            "postgres://app:secret@db.internal/directory?sslmode=require",
            "postgres://app@10.1.2.3/directory?sslmode=disable",
        ] {
            let error = check_database_url(name, url, false).unwrap_err();
            let text = error.to_string();
            assert!(text.contains(name) && text.contains("sslmode="), "{text}");
            assert!(!text.contains("secret"), "the password leaked: {text}");
        }
        for url in [
            "postgres://app@db.internal/directory?sslmode=verify-full&sslrootcert=/ca.pem",
            "postgres://app@db.internal/directory?sslmode=verify-ca",
            "postgres://postgres@127.0.0.1:5432/directory",
            "postgres://postgres@localhost/directory",
            "postgres:///directory?host=/var/run/postgresql",
        ] {
            check_database_url(name, url, false).unwrap();
        }
        check_database_url(name, "postgres://app@postgres/directory", true).unwrap();
    }

    #[test]
    fn nats_on_another_host_needs_tls() {
        let error =
            check_nats_url("nats://127.0.0.1:4222,nats://nats-1:4222", false, false).unwrap_err();
        assert!(error.to_string().contains("NATS_URL"), "{error}");
        assert!(error.to_string().contains("nats-1:4222"), "{error}");
        check_nats_url("nats-1:4222", false, false).unwrap_err();
        check_nats_url("nats://nats-1:4222", true, false).unwrap();
        check_nats_url("tls://nats-1:4222", false, false).unwrap();
        check_nats_url("nats://127.0.0.1:4222, localhost:4223", false, false).unwrap();
        check_nats_url("nats://[::1]:4222", false, false).unwrap();
        check_nats_url("nats://nats:4222", false, true).unwrap();
    }

    #[test]
    fn otlp_on_another_host_needs_https() {
        let error = check_otlp_endpoint("http://collector:4317", false).unwrap_err();
        assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
        check_otlp_endpoint("https://collector:4317", false).unwrap();
        check_otlp_endpoint("http://127.0.0.1:4317", false).unwrap();
        check_otlp_endpoint("http://localhost:4317/", false).unwrap();
        check_otlp_endpoint("http://collector:4317", true).unwrap();
    }
}
