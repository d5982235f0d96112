//! TLS on every gRPC connection, and the certificates that say who is calling.
//!
//! Each service has one certificate from the deployment's private CA, naming the service
//! (see `service-pki` and `docs/architecture.md`): it is the server certificate of the
//! services that serve gRPC, and the client certificate every service presents when it
//! calls one. A server asks for a client certificate but does not insist on one, so that an
//! operator's `scimctl` (which proves itself with an operator credential instead) and the
//! health service can still connect; [`crate::callers::CallerPolicy`] decides per service
//! who may call.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::config::{ConfigError, optional};

/// `GRPC_TLS_CERT`: this service's certificate (PEM), presented as server and as client.
pub const CERT_VAR: &str = "GRPC_TLS_CERT";
/// `GRPC_TLS_KEY`: the certificate's private key (PEM).
pub const KEY_VAR: &str = "GRPC_TLS_KEY";
/// `GRPC_TLS_CA`: the CA certificate(s) (PEM) every peer's certificate must chain to.
pub const CA_VAR: &str = "GRPC_TLS_CA";

/// Where a service's certificate, key and CA are, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl GrpcTlsFiles {
    /// The three variables, all or none: `None` when none is set.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let cert = optional(lookup, CERT_VAR);
        let key = optional(lookup, KEY_VAR);
        let ca = optional(lookup, CA_VAR);
        match (cert, key, ca) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), Some(ca)) => Ok(Some(Self {
                cert: cert.into(),
                key: key.into(),
                ca: ca.into(),
            })),
            (cert, key, _) => Err(ConfigError::Missing {
                name: if cert.is_none() {
                    CERT_VAR
                } else if key.is_none() {
                    KEY_VAR
                } else {
                    CA_VAR
                },
                reason: "GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA go together",
            }),
        }
    }
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error(
        "environment variable {CERT_VAR} is required: every gRPC connection is TLS and every \
         caller is identified by its certificate; set {CERT_VAR}, {KEY_VAR} and {CA_VAR} to \
         PEM files (`cargo xtask up` issues development ones under .local/pki/)"
    )]
    NotConfigured,
    #[error("environment variable {variable}={path:?}: cannot read the file: {source}")]
    Read {
        variable: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("environment variable {variable}={path:?}: {reason}")]
    Invalid {
        variable: &'static str,
        path: PathBuf,
        reason: &'static str,
    },
    #[error("{url:?}: gRPC is served over TLS only; use https://")]
    NotHttps { url: String },
    #[error("gRPC TLS: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A service's certificate, key and CA, read and checked.
#[derive(Clone)]
pub struct GrpcTls {
    identity: Identity,
    ca: Certificate,
}

impl std::fmt::Debug for GrpcTls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        formatter.write_str("GrpcTls { .. }")
    }
}

impl GrpcTls {
    /// Reads the configured files; a service without them does not start.
    pub fn load(files: Option<&GrpcTlsFiles>) -> Result<Self, TlsError> {
        let files = files.ok_or(TlsError::NotConfigured)?;
        let cert = read_pem(CERT_VAR, &files.cert, "CERTIFICATE")?;
        let key = read_pem(KEY_VAR, &files.key, "PRIVATE KEY")?;
        let ca = read_pem(CA_VAR, &files.ca, "CERTIFICATE")?;
        Ok(Self {
            identity: Identity::from_pem(cert, key),
            ca: Certificate::from_pem(ca),
        })
    }

    /// The server side: this service's certificate, and client certificates checked against
    /// the CA when presented.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .client_auth_optional(true)
    }

    /// An endpoint for `url` (`https://host:port`) that checks the server against the CA and
    /// presents this service's certificate.
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TlsError> {
        Ok(https(url)?.tls_config(self.client_config())?)
    }

    fn client_config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
    }
}

/// An endpoint for a caller without a certificate of its own (an operator's `scimctl`): the
/// server is checked against `ca`.
pub fn anonymous_endpoint(url: &str, ca_pem: Vec<u8>) -> Result<Endpoint, TlsError> {
    Ok(https(url)?
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)))?)
}

/// The URLs of a comma-separated list (a service's replicas), trimmed, blanks skipped.
pub fn url_list(urls: &str) -> impl Iterator<Item = &str> {
    urls.split(',').map(str::trim).filter(|url| !url.is_empty())
}

fn https(url: &str) -> Result<Endpoint, TlsError> {
    if !url.starts_with("https://") {
        return Err(TlsError::NotHttps {
            url: url.to_owned(),
        });
    }
    Ok(Endpoint::from_shared(url.to_owned())?.tcp_nodelay(true))
}

fn read_pem(variable: &'static str, path: &Path, label: &str) -> Result<Vec<u8>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        variable,
        path: path.to_owned(),
        source,
    })?;
    // tonic reads the PEM only when the first connection is made; a wrong file is better
    // reported now, naming the variable.
    let text = String::from_utf8_lossy(&pem);
    let holds_label = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.contains(label));
    if !holds_label {
        return Err(TlsError::Invalid {
            variable,
            path: path.to_owned(),
            reason: if label == "CERTIFICATE" {
                "expected a PEM certificate (-----BEGIN CERTIFICATE-----)"
            } else {
                "expected a PEM private key (-----BEGIN PRIVATE KEY----- or similar)"
            },
        });
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;

    #[test]
    fn the_three_files_are_configured_together_or_not_at_all() {
        assert_eq!(GrpcTlsFiles::from_lookup(&env(&[])).unwrap(), None);
        let files = GrpcTlsFiles::from_lookup(&env(&[
            (CERT_VAR, "/tls/tls.crt"),
            (KEY_VAR, "/tls/tls.key"),
            (CA_VAR, "/tls/ca.crt"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(files.key, PathBuf::from("/tls/tls.key"));
        let error =
            GrpcTlsFiles::from_lookup(&env(&[(CERT_VAR, "/a"), (CA_VAR, "/c")])).unwrap_err();
        assert!(error.to_string().contains(KEY_VAR), "{error}");
    }

    #[test]
    fn a_service_without_certificates_or_with_a_wrong_file_says_which_variable() {
        let error = GrpcTls::load(None).unwrap_err();
        assert!(error.to_string().contains(CERT_VAR), "{error}");

        let dir = std::env::temp_dir().join(format!("grpc-tls-test-{}", std::process::id()));
        let pki = service_pki::issue("test CA", &["scim-gateway"], &["localhost"]).unwrap();
        pki.write(&dir).unwrap();
        let files = service_pki::service_files(&dir, "scim-gateway");
        let good = GrpcTlsFiles {
            cert: files.cert.clone(),
            key: files.key.clone(),
            ca: files.ca.clone(),
        };
        GrpcTls::load(Some(&good)).unwrap();
        let swapped = GrpcTlsFiles {
            key: files.cert.clone(),
            ..good.clone()
        };
        let error = GrpcTls::load(Some(&swapped)).unwrap_err();
        assert!(error.to_string().contains(KEY_VAR), "{error}");
        let missing = GrpcTlsFiles {
            ca: dir.join("nope.pem"),
            ..good
        };
        let error = GrpcTls::load(Some(&missing)).unwrap_err();
        assert!(error.to_string().contains(CA_VAR), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
