//! The certificates test services present and check: one private CA and one certificate per
//! service identity, issued once and shared by every test process (they hold no secret
//! worth protecting, and issuing them per test would only cost time).

use std::path::PathBuf;
use std::sync::OnceLock;

use service_kit::callers::ALL_SERVICES;
use service_kit::grpc_tls::{GrpcTls, GrpcTlsFiles};
use tonic::transport::Channel;

/// A service identity the deployment's CA never issued, for tests that show it refused.
pub const UNKNOWN_SERVICE: &str = "unknown-service";

/// The files of `service` (one of [`ALL_SERVICES`] or [`UNKNOWN_SERVICE`]).
pub fn grpc_tls_files(service: &str) -> GrpcTlsFiles {
    let files = service_pki::service_files(shared_dir(), service);
    GrpcTlsFiles {
        cert: files.cert,
        key: files.key,
        ca: files.ca,
    }
}

/// `service`'s identity, loaded.
pub fn grpc_tls(service: &str) -> GrpcTls {
    GrpcTls::load(Some(&grpc_tls_files(service))).unwrap()
}

/// A channel to `addr` presenting `service`'s certificate.
pub async fn channel_as(service: &str, addr: std::net::SocketAddr) -> Channel {
    grpc_tls(service)
        .endpoint(&format!("https://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A channel to `addr` without a client certificate (as an operator's `scimctl` connects).
pub async fn anonymous_channel(addr: std::net::SocketAddr) -> Channel {
    let ca = std::fs::read(grpc_tls_files(UNKNOWN_SERVICE).ca).unwrap();
    service_kit::grpc_tls::anonymous_endpoint(&format!("https://{addr}"), ca)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Where the shared certificates are: issued into a fresh directory and renamed into place,
/// so concurrent test processes all end up using one complete set.
fn shared_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut identities: Vec<&str> = ALL_SERVICES.to_vec();
        identities.push(UNKNOWN_SERVICE);
        let dir = std::env::temp_dir().join("scim-provisioning-test-pki-v1");
        if service_pki::complete(&dir, &identities) {
            return dir;
        }
        let scratch = std::env::temp_dir().join(format!(
            "scim-provisioning-test-pki-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        service_pki::issue(
            "scim-provisioning test CA",
            &identities,
            &["localhost", "127.0.0.1"],
        )
        .unwrap()
        .write(&scratch)
        .unwrap();
        // Another process may have won the race; its set is as good as ours.
        if std::fs::rename(&scratch, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
            assert!(
                service_pki::complete(&dir, &identities),
                "{} exists but is incomplete; delete it",
                dir.display()
            );
        }
        dir
    })
}
