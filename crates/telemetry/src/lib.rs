//! Logging, tracing and trace-context propagation for every service.
//!
//! One trace must link the HTTP request, the event on JetStream, each
//! consumer's handling and the gRPC calls it caused (invariant I10). The W3C
//! trace context therefore travels in HTTP headers, NATS message headers and
//! gRPC metadata; this crate holds the injector/extractor for each carrier.

mod init;
pub mod propagation;

pub use init::{
    LogFormat, OtlpSettings, TelemetryConfig, TelemetryError, TelemetryGuard, init, tracer_provider,
};
