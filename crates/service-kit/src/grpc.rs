//! Serving gRPC the same way in every service: on a listener bound up front (so the port is
//! known before serving starts), over TLS, with a `grpc.health.v1` status that tells what
//! `/readyz` tells, until told to stop.

use std::future::Future;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::grpc_tls::GrpcTls;
use crate::ops_http::Readiness;

/// Serves `services` (each behind its [`crate::callers::CallerPolicy`]) and the health
/// service, whose status for `S` follows `readiness`, until `stop`: then readiness turns
/// false and the server finishes the calls it has. The future owns what it needs, so a
/// service hands it to [`crate::lifecycle::spawn_part`] as it is.
pub fn serve<S: NamedService>(
    listener: TcpListener,
    tls: &GrpcTls,
    services: Routes,
    readiness: Readiness,
    stop: CancellationToken,
) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
    let tls = tls.server_config();
    async move {
        let (health, health_follows_readiness) = health_following::<S>(&readiness, stop.clone());
        tokio::spawn(health_follows_readiness);
        let signal = async move {
            stop.cancelled().await;
            readiness.set_ready(false);
        };
        tonic::transport::Server::builder()
            .tls_config(tls)
            .context("gRPC TLS configuration")?
            .trace_fn(telemetry::propagation::grpc_server_span)
            .add_routes(services.add_service(health))
            .serve_with_incoming_shutdown(incoming(listener), signal)
            .await
            .context("gRPC server")
    }
}

/// Accepted connections with `TCP_NODELAY`. tonic ignores the server's own
/// `tcp_nodelay` setting for a supplied listener, and with Nagle's algorithm
/// on, a small response waits for the peer's delayed ACK: about 40 ms added
/// to every call that follows a write on the same connection.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// The `grpc.health.v1` service, and the task that keeps the status of `S` equal to
/// `readiness` (SERVING while ready) until `stop`, then NOT_SERVING: a caller that checks
/// health (the gateway choosing a directory replica, a Kubernetes gRPC probe) sees what
/// `/readyz` shows.
fn health_following<S: NamedService>(
    readiness: &Readiness,
    stop: CancellationToken,
) -> (
    HealthServer<impl Health>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    let mut changes = readiness.subscribe();
    let follow = async move {
        loop {
            let status = if *changes.borrow_and_update() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status(S::NAME, status).await;
            tokio::select! {
                () = stop.cancelled() => break,
                changed = changes.changed() => if changed.is_err() { break },
            }
        }
        reporter
            .set_service_status(S::NAME, ServingStatus::NotServing)
            .await;
    };
    (service, follow)
}
