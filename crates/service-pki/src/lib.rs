//! A private certificate authority and one certificate per service: the services' gRPC
//! identities on a development machine (`cargo xtask up` writes them under `.local/pki/`)
//! and in tests. A deployment issues the same shape of certificates from its own CA (see
//! `docs/operations.md`); nothing here runs in a service.
//!
//! A service's certificate names the service (its DNS subject alternative name is the
//! service's name, e.g. `scim-gateway`): that name is who the service is when it calls
//! another service. The same certificate is its server certificate, so it also names the
//! hosts clients reach it on.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PkiError {
    #[error("issuing a certificate: {0}")]
    Issue(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The PEM files of one service: its certificate and key, and the CA every peer is checked
/// against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Where [`write`] puts `service`'s files in `dir`.
pub fn service_files(dir: &Path, service: &str) -> ServiceFiles {
    ServiceFiles {
        cert: dir.join(format!("{service}.pem")),
        key: dir.join(format!("{service}-key.pem")),
        ca: dir.join(CA_FILE),
    }
}

const CA_FILE: &str = "ca.pem";

/// A CA and the PEM certificates it issued, in memory.
pub struct Pki {
    pub ca_pem: String,
    pub services: Vec<IssuedCert>,
}

pub struct IssuedCert {
    pub service: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Issues a new CA and, for each of `services`, a certificate that names the service and
/// each of `hosts` (DNS names or IP addresses), usable as both server and client
/// certificate.
pub fn issue(ca_name: &str, services: &[&str], hosts: &[&str]) -> Result<Pki, PkiError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut issued = Vec::with_capacity(services.len());
    for service in services {
        let names: Vec<String> = std::iter::once(*service)
            .chain(hosts.iter().copied())
            .map(str::to_owned)
            .collect();
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name.push(DnType::CommonName, *service);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        issued.push(IssuedCert {
            service: (*service).to_owned(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        });
    }
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        services: issued,
    })
}

impl Pki {
    /// Writes the CA certificate and every service's files into `dir` (keys readable by the
    /// owner only), where [`service_files`] finds them.
    pub fn write(&self, dir: &Path) -> Result<(), PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Write {
            path: dir.to_owned(),
            source,
        })?;
        write_file(&dir.join(CA_FILE), &self.ca_pem, false)?;
        for issued in &self.services {
            let files = service_files(dir, &issued.service);
            write_file(&files.cert, &issued.cert_pem, false)?;
            write_file(&files.key, &issued.key_pem, true)?;
        }
        Ok(())
    }
}

/// The name of the CA a development stack issues for itself (`cargo xtask up`,
/// `scimctl pki issue`).
pub const DEVELOPMENT_CA_NAME: &str = "scim-provisioning development CA";

/// Issues a PKI into `dir` unless it already holds the files of every one of `services`;
/// `true` when it issued. Certificates are kept across runs, so peers that trust the CA
/// keep trusting it; delete the directory to start over.
pub fn ensure(
    dir: &Path,
    ca_name: &str,
    services: &[&str],
    hosts: &[&str],
) -> Result<bool, PkiError> {
    if complete(dir, services) {
        return Ok(false);
    }
    issue(ca_name, services, hosts)?.write(dir)?;
    Ok(true)
}

/// Whether `dir` holds the files of every one of `services` (so `cargo xtask up` can keep a
/// PKI it issued before).
pub fn complete(dir: &Path, services: &[&str]) -> bool {
    services.iter().all(|service| {
        let files = service_files(dir, service);
        files.cert.is_file() && files.key.is_file() && files.ca.is_file()
    })
}

fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), PkiError> {
    let error = |source| PkiError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(error)?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_gets_a_certificate_and_key_next_to_one_ca() {
        let pki = issue(
            "test CA",
            &["scim-gateway", "directory-service"],
            &["localhost", "127.0.0.1"],
        )
        .unwrap();
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(pki.services.len(), 2);
        assert_eq!(pki.services[1].service, "directory-service");
        assert!(pki.services[1].key_pem.contains("PRIVATE KEY"));
        assert_ne!(pki.services[0].cert_pem, pki.services[1].cert_pem);

        let dir = std::env::temp_dir().join(format!("service-pki-test-{}", std::process::id()));
        pki.write(&dir).unwrap();
        assert!(complete(&dir, &["scim-gateway", "directory-service"]));
        assert!(!complete(&dir, &["scim-gateway", "audit-service"]));
        let files = service_files(&dir, "scim-gateway");
        assert_eq!(
            std::fs::read_to_string(&files.cert).unwrap(),
            pki.services[0].cert_pem
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "a key is readable by its owner only");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
