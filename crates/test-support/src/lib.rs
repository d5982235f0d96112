//! What the integration tests of every crate share, so each does not grow its own copy: the
//! addresses of the real NATS and Postgres (`NATS_URL`, `TEST_DATABASE_URL`), throwaway
//! databases and event namespaces, the services' certificates, a private nats-server to stop and restart, services
//! started on port 0 and stopped within a deadline, polling with a deadline, and service logs
//! on demand (`TEST_LOG`). A dev-dependency only; it panics on failure, as test code does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod backend;
pub mod database;
pub mod nats_server;
pub mod pki;
pub mod service;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

pub use backend::TestBackend;
pub use database::{TestDatabase, database_url, maintenance_url};
pub use nats_server::NatsServer;
pub use pki::{anonymous_channel, channel_as, grpc_tls, grpc_tls_files};
pub use service::RunningService;

/// The operator credential the test services are configured with (16 characters: as short
/// as a service accepts without `ALLOW_DEV_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The smallest environment a service's configuration accepts: [`ADMIN_TOKEN`], and every
/// other variable unset (at its default). Chain it behind a test's own variables.
pub fn minimal_env(name: &str) -> Option<String> {
    (name == "ADMIN_TOKEN").then(|| ADMIN_TOKEN.to_owned())
}

/// The NATS server the tests use (`NATS_URL`, else the local default).
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// With `TEST_LOG` set (to a filter such as `info` or `license_service=debug`), the services'
/// logs go to the test's output, which the runner shows for a failing test. Without it, tests
/// stay quiet. Safe to call from every test: the subscriber is installed once per process.
pub fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|error| panic!("TEST_LOG={filter:?} is not a log filter: {error}"));
        // Another subscriber (a test that installs its own) wins; these logs are a convenience.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Polls `condition` until it holds, failing the test after 10 s.
pub async fn eventually<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A plain HTTP/1.0 GET, enough for an ops endpoint: the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path).await
}

/// Like [`http_get`] with any method, also one no HTTP client library would send.
pub async fn http_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("{method} {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
