//! Installing logging and tracing for a service, from its configuration.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    pub service_name: &'static str,
    /// Where traces are exported; nowhere when its endpoint is unset.
    pub otlp: OtlpSettings,
    pub log_format: LogFormat,
    /// `RUST_LOG`-style directives.
    pub log_filter: String,
}

/// An OTLP/gRPC collector and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtlpSettings {
    /// `http://` (plaintext) or `https://` (TLS, the server checked against [`Self::ca`] or,
    /// without one, the public web roots).
    pub endpoint: Option<String>,
    /// A private CA the collector's certificate chains to (PEM file).
    pub ca: Option<PathBuf>,
    /// The certificate and key (PEM files) to present to a collector that asks for one.
    pub client_identity: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("cannot read {path} (OTLP TLS): {source}")]
    TlsFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Flushes buffered spans when dropped or shut down explicitly at exit.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub fn shutdown(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("failed to flush traces: {error}");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Installs the global subscriber (logs to stdout, spans to OTLP when
/// configured) and the W3C trace-context propagator.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_new(&config.log_filter)
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;
    // The log filter only limits what is printed; spans are always created
    // for tracing, otherwise a quiet log level would break propagation.
    let fmt_layer = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(filter).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_filter(filter)
            .boxed(),
    };

    // Spans get OpenTelemetry contexts even without an exporter, so trace ids
    // still flow across HTTP, NATS and gRPC and tie the services' logs together.
    let provider = tracer_provider(config.service_name, &config.otlp)?;
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(config.service_name))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    opentelemetry::global::set_tracer_provider(provider.clone());
    let provider = Some(provider);

    tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|error| TelemetryError::AlreadyInstalled(error.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// A tracer provider exporting to `otlp` in batches (not exporting when it has no
/// endpoint). Public for tests that check the export itself; services go through [`init`].
pub fn tracer_provider(
    service_name: &'static str,
    otlp: &OtlpSettings,
) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &otlp.endpoint {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint);
        if let Some(tls) = client_tls(otlp)? {
            exporter = exporter.with_tls_config(tls);
        }
        let exporter = exporter
            .build()
            .map_err(|error| TelemetryError::Exporter(error.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// The TLS settings of an `https://` endpoint (`None` for plaintext). Set here rather than
/// left to the exporter, whose default TLS trusts no root at all.
fn client_tls(
    otlp: &OtlpSettings,
) -> Result<Option<tonic::transport::ClientTlsConfig>, TelemetryError> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let is_https = otlp
        .endpoint
        .as_deref()
        .and_then(|endpoint| endpoint.parse::<http::Uri>().ok())
        .is_some_and(|uri| uri.scheme() == Some(&http::uri::Scheme::HTTPS));
    if !is_https {
        return Ok(None);
    }
    let mut tls = ClientTlsConfig::new();
    match &otlp.ca {
        Some(ca) => tls = tls.ca_certificate(Certificate::from_pem(read(ca)?)),
        None => tls = tls.with_webpki_roots(),
    }
    if let Some((cert, key)) = &otlp.client_identity {
        tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(Some(tls))
}

fn read(path: &Path) -> Result<Vec<u8>, TelemetryError> {
    std::fs::read(path).map_err(|source| TelemetryError::TlsFile {
        path: path.to_owned(),
        source,
    })
}
