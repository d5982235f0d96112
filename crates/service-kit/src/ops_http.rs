//! `/metrics`, `/healthz` and `/readyz` for the gRPC services.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Readiness: whether the service takes traffic now, and why (what its last dependency probe
/// saw, see [`crate::readiness`]). Cleared when draining so the load balancer stops sending
/// traffic before listeners close.
#[derive(Clone)]
pub struct Readiness(Arc<ReadinessState>);

struct ReadinessState {
    /// Whether ready; a watch, so that the gRPC health status can follow every change.
    ready: watch::Sender<bool>,
    detail: RwLock<String>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self(Arc::new(ReadinessState {
            ready: watch::Sender::new(false),
            detail: RwLock::new("starting".to_owned()),
        }))
    }
}

impl Readiness {
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.send_if_modified(|current| {
            let changed = *current != ready;
            *current = ready;
            changed
        });
    }

    /// Follows every change of the flag.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.ready.subscribe()
    }

    /// Sets the flag and the text `/readyz` shows with it.
    pub fn set(&self, ready: bool, detail: String) {
        *self
            .0
            .detail
            .write()
            .unwrap_or_else(PoisonError::into_inner) = detail;
        self.set_ready(ready);
    }

    pub fn is_ready(&self) -> bool {
        *self.0.ready.borrow()
    }

    pub fn detail(&self) -> String {
        self.0
            .detail
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Clone)]
struct OpsState {
    registry: Arc<Registry>,
    readiness: Readiness,
}

pub fn router(registry: Arc<Registry>, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(OpsState {
            registry,
            readiness,
        })
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    render_metrics(&state.registry)
}

/// Prometheus text exposition of `registry`.
pub fn render_metrics(registry: &Registry) -> axum::response::Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn ready(State(state): State<OpsState>) -> impl IntoResponse {
    let detail = state.readiness.detail();
    if state.readiness.is_ready() {
        (StatusCode::OK, format!("ready {detail}\n"))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready {detail}\n"),
        )
    }
}

/// Serves the ops endpoints until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
