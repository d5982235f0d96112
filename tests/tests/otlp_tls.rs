//! Traces to a collector over TLS: with `OTEL_EXPORTER_OTLP_CERTIFICATE` (and a client
//! certificate when the collector asks for one) spans reach a collector whose certificate
//! chains to that CA; a collector from another CA, or a plaintext connection to a TLS
//! collector, gets nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use telemetry::OtlpSettings;
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// A collector that hands every span name it receives, with whether the caller presented a
/// client certificate, to the test.
struct Collector {
    received: mpsc::UnboundedSender<(String, bool)>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let presented_certificate = request
            .peer_certs()
            .is_some_and(|certificates| !certificates.is_empty());
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let _ = self.received.send((span.name, presented_certificate));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A TLS collector on 127.0.0.1 with the certificate the test PKI issued to
/// `directory-service` (it names 127.0.0.1), accepting client certificates of that CA.
async fn tls_collector() -> (SocketAddr, mpsc::UnboundedReceiver<(String, bool)>) {
    let files = test_support::pki::grpc_tls_files("directory-service");
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            std::fs::read(&files.cert).unwrap(),
            std::fs::read(&files.key).unwrap(),
        ))
        .client_ca_root(Certificate::from_pem(std::fs::read(&files.ca).unwrap()))
        .client_auth_optional(true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sender, receiver) = mpsc::unbounded_channel();
    let service = TraceServiceServer::new(Collector { received: sender });
    tokio::spawn(
        Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(service)
            .serve_with_incoming(tokio_stream_of(listener)),
    );
    (addr, receiver)
}

fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// Exports one span named `name` through the service's own exporter set-up and flushes.
async fn export_one(otlp: OtlpSettings, name: &'static str) {
    let provider = telemetry::tracer_provider("otlp-tls-test", &otlp).unwrap();
    provider.tracer("otlp-tls-test").in_span(name, |_| {});
    // The batch processor flushes on its own thread, which blocks until the export ends.
    tokio::task::spawn_blocking(move || {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    })
    .await
    .unwrap();
}

async fn next_span(
    receiver: &mut mpsc::UnboundedReceiver<(String, bool)>,
) -> Option<(String, bool)> {
    tokio::time::timeout(Duration::from_secs(3), receiver.recv())
        .await
        .ok()
        .flatten()
}

fn shared_ca() -> PathBuf {
    test_support::pki::grpc_tls_files("scim-gateway").ca
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_collector_of_the_configured_ca_and_no_other() {
    let (addr, mut received) = tls_collector().await;
    let endpoint = format!("https://{addr}");

    // The CA alone: the span arrives, and no client certificate was shown.
    export_one(
        OtlpSettings {
            endpoint: Some(endpoint.clone()),
            ca: Some(shared_ca()),
            client_identity: None,
        },
        "with-the-ca",
    )
    .await;
    assert_eq!(
        next_span(&mut received).await,
        Some(("with-the-ca".to_owned(), false))
    );

    // With a client certificate: the collector sees it.
    let gateway = test_support::pki::grpc_tls_files("scim-gateway");
    export_one(
        OtlpSettings {
            endpoint: Some(endpoint.clone()),
            ca: Some(shared_ca()),
            client_identity: Some((gateway.cert, gateway.key)),
        },
        "with-a-client-certificate",
    )
    .await;
    assert_eq!(
        next_span(&mut received).await,
        Some(("with-a-client-certificate".to_owned(), true))
    );

    // Another CA: the exporter refuses the collector, so nothing arrives.
    let foreign = std::env::temp_dir().join(format!("otlp-foreign-{}", uuid::Uuid::new_v4()));
    service_pki::issue("another CA", &["collector"], &["127.0.0.1"])
        .unwrap()
        .write(&foreign)
        .unwrap();
    export_one(
        OtlpSettings {
            endpoint: Some(endpoint.clone()),
            ca: Some(service_pki::service_files(&foreign, "collector").ca),
            client_identity: None,
        },
        "to-a-collector-of-another-ca",
    )
    .await;
    // Plaintext to the TLS collector: nothing arrives either.
    export_one(
        OtlpSettings {
            endpoint: Some(format!("http://{addr}")),
            ca: None,
            client_identity: None,
        },
        "in-plaintext",
    )
    .await;
    assert_eq!(next_span(&mut received).await, None);
    let _ = std::fs::remove_dir_all(foreign);
}

#[test]
fn an_unreadable_ca_file_is_an_error_naming_it() {
    let missing = PathBuf::from("/nonexistent/otlp-ca.pem");
    let error = telemetry::tracer_provider(
        "otlp-tls-test",
        &OtlpSettings {
            endpoint: Some("https://127.0.0.1:4317".into()),
            ca: Some(missing),
            client_identity: None,
        },
    )
    .err()
    .unwrap();
    assert!(
        error.to_string().contains("/nonexistent/otlp-ca.pem"),
        "{error}"
    );
}
