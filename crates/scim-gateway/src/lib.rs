//! The SCIM 2.0 gateway: the HTTP surface identity providers talk to.
//!
//! Stateless: it authenticates the bearer token (via the directory), decides
//! with the pure `scim-model` crate, appends events to JetStream, and waits
//! until the directory shows each write before answering. Run as many
//! replicas as needed.

mod auth_cache;
mod auth_failures;
mod commands;
mod config;
mod directory;
mod error;
mod http;
mod metrics;
mod middleware;
mod readiness;
mod revocations;
mod routes;
mod state;
mod tenant_limits;

use std::net::SocketAddr;

use anyhow::Context as _;
use event_store::{EventStore, StoreSettings};
use scim_events::Namespace;
use service_kit::lifecycle::{join_parts, spawn_part};
use service_kit::ops_http::{self, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use error::ApiError;
pub use tenant_limits::TenantLimitSettings;

pub struct Application {
    listener: TcpListener,
    /// `/metrics`, `/healthz`, `/readyz` (`GATEWAY_METRICS_ADDR`).
    metrics_listener: TcpListener,
    state: state::AppState,
    nats: async_nats::Client,
    /// The stream sequence from which admin actions are followed (see `revocations.rs`):
    /// read before serving, so none can slip in between the first cached token and the
    /// start of the follower.
    follow_admin_actions_from: u64,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding GATEWAY_HTTP_ADDR {}", config.http_addr))?;
        Self::build_on(config, listener).await
    }

    /// Like [`Application::build`], serving on a listener the caller bound (`http_addr` is
    /// then unused): a test binds port 0 and derives `public_base_url` from the address it
    /// got, with no moment in which the port is free for another process to take.
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let grpc_tls = service_kit::grpc_tls::GrpcTls::load(config.common.grpc_tls.as_ref())?;
        let metrics_listener = ops_http::bind(config.metrics_addr)
            .await
            .with_context(|| format!("binding GATEWAY_METRICS_ADDR {}", config.metrics_addr))?;
        let namespace =
            Namespace::new(config.common.event_namespace.clone()).context("EVENT_NAMESPACE")?;
        let login = service_kit::nats::Login::service(
            event_store::access::Service::Gateway,
            &namespace,
            &config.common,
        );
        let nats = service_kit::nats::connect(&config.common.nats_url, &login)
            .await
            .context("connecting to NATS (NATS_URL, NATS_USER, NATS_PASSWORD)")?;
        let settings = StoreSettings {
            replicas: config.common.stream_replicas,
            ..StoreSettings::default()
        };
        let store = EventStore::connect(nats.clone(), namespace, &settings)
            .await
            .context(service_kit::nats::STREAM_SETUP_HINT)?;
        let directory = directory::DirectoryClient::connect_lazy(&config.directory_url, &grpc_tls)
            .with_context(|| format!("DIRECTORY_GRPC_URL {:?}", config.directory_url))?;
        let follow_admin_actions_from = store
            .last_sequence()
            .await
            .context("reading the event stream's last sequence")?
            + 1;
        let state = state::AppState::new(config, store, directory, Readiness::default());
        Ok(Self {
            listener,
            metrics_listener,
            state,
            nats,
            follow_admin_actions_from,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    /// Serves until `shutdown`, then stops accepting, finishes in-flight
    /// requests (their events are already appended or not at all) and drains NATS.
    /// The HTTP server and the revocation listener are parts of one lifecycle: when
    /// either ends on its own (the listener would, if NATS closed the subscription for
    /// good, and then revoked tokens would go unnoticed), the gateway stops and exits
    /// with the error, to be restarted.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            state,
            nats,
            follow_admin_actions_from,
        } = self;
        let stop = shutdown.child_token();
        // Stopped last, so that probes see "not ready" while the rest drains.
        let ops_stop = CancellationToken::new();
        let ops = tokio::spawn(ops_http::serve(
            metrics_listener,
            ops_http::router(state.registry().clone(), state.readiness().clone()),
            ops_stop.clone(),
        ));
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, base_url = %state.base_url(), "SCIM gateway listening");
        }
        let evictions = spawn_part("revocations", stop.clone(), {
            let state = state.clone();
            let stop = stop.clone();
            async move {
                revocations::follow_admin_actions(
                    state.store().clone(),
                    state.auth_cache(),
                    follow_admin_actions_from,
                    stop,
                )
                .await;
                Ok(())
            }
        });
        let progress = spawn_part("progress", stop.clone(), {
            let directory = state.directory().clone();
            let stop = stop.clone();
            async move {
                directory.follow_progress(stop).await;
                Ok(())
            }
        });
        // Ready while NATS, JetStream and the directory answer, not merely once started.
        tokio::spawn(
            readiness::DependencyProbe::new(
                nats.clone(),
                state.store().stream().clone(),
                state.directory().clone(),
            )
            .keep_current(state.readiness().clone(), stop.clone()),
        );
        let readiness = state.readiness().clone();
        // Paths are canonicalised before routing, so the rewrite has to wrap
        // the router rather than be one of its layers.
        let app = tower::ServiceExt::map_request(routes::router(state), routes::canonicalize);
        // Small responses must not wait for the client's delayed ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        let http = spawn_part("http", stop.clone(), {
            let stop = stop.clone();
            async move {
                axum::serve(listener, axum::ServiceExt::into_make_service(app))
                    .with_graceful_shutdown(async move {
                        stop.cancelled().await;
                        readiness.set_ready(false);
                    })
                    .await
                    .context("HTTP server")
            }
        });
        stop.cancelled().await;
        let first_error = join_parts(
            vec![
                ("http", http),
                ("revocations", evictions),
                ("progress", progress),
            ],
            ops_stop,
            ops,
        )
        .await;
        if let Err(error) = nats.drain().await {
            tracing::warn!(%error, "draining NATS");
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The service as a process runs it: configuration from the environment, then the shared
/// service loop (telemetry, serve until SIGTERM or Ctrl-C, drain). Exits 64 on a configuration
/// error and 1 when the service fails.
pub async fn serve_from_env() -> std::process::ExitCode {
    service_kit::main_loop::run_service(
        "scim-gateway",
        Config::from_env(),
        |config| &config.common,
        |config, shutdown| async move {
            Application::build(config)
                .await?
                .run_until_stopped(shutdown)
                .await
        },
    )
    .await
}
