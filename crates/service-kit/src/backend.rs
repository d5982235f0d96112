//! The start-up every event-consuming backend (license, audit) shares:
//! its gRPC certificate, Postgres with migrations, NATS, the event stream, and the two
//! listeners.

use anyhow::Context as _;
use event_store::{EventStore, StoreSettings};
use scim_events::Namespace;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

use crate::config::{BackendConfig, BackendEnv};
use crate::ops_http;

/// Connected and bound, not yet serving.
pub struct BackendParts {
    pub grpc_tls: crate::grpc_tls::GrpcTls,
    pub db: PgPool,
    pub nats: async_nats::Client,
    pub store: EventStore,
    pub grpc_listener: TcpListener,
    pub metrics_listener: TcpListener,
}

/// Connects Postgres (running `migrator`) and NATS, ensures the stream and
/// bucket exist, and binds the gRPC and metrics listeners (port 0 picks a
/// free port). Errors name the environment variable to look at.
pub async fn connect(
    service_name: &str,
    service: event_store::access::Service,
    config: &BackendConfig,
    env: &BackendEnv,
    migrator: &'static Migrator,
    max_db_connections: u32,
) -> anyhow::Result<BackendParts> {
    // First: a service without its certificate has nothing to serve with.
    let grpc_tls = crate::grpc_tls::GrpcTls::load(config.common.grpc_tls.as_ref())?;
    let namespace =
        Namespace::new(config.common.event_namespace.clone()).context("EVENT_NAMESPACE")?;
    let db = crate::postgres::connect(&config.database_url, max_db_connections)
        .await
        .with_context(|| format!("connecting to Postgres ({})", env.database_url))?;
    migrator
        .run(&db)
        .await
        .with_context(|| format!("running {service_name} migrations"))?;
    let login = crate::nats::Login::service(service, &namespace, &config.common);
    let nats = crate::nats::connect(&config.common.nats_url, &login)
        .await
        .context("connecting to NATS (NATS_URL, NATS_USER, NATS_PASSWORD)")?;
    let settings = StoreSettings {
        replicas: config.common.stream_replicas,
        ..StoreSettings::default()
    };
    let store = EventStore::connect(nats.clone(), namespace, &settings)
        .await
        .context(crate::nats::STREAM_SETUP_HINT)?;
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("binding {} {}", env.grpc_addr, config.grpc_addr))?;
    let metrics_listener = ops_http::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding {} {}", env.metrics_addr, config.metrics_addr))?;
    Ok(BackendParts {
        grpc_tls,
        db,
        nats,
        store,
        grpc_listener,
        metrics_listener,
    })
}
