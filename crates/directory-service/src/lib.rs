//! The directory: the read model of users and groups, and the account center.
//!
//! - A durable JetStream consumer projects user/group events into Postgres
//!   (only one replica consumes at a time, under an advisory lock).
//! - `DirectoryRead` (gRPC) answers the gateway's reads and blocks on
//!   `AwaitApplied` until a write is visible (read-your-writes, I2).
//! - `AccountAdmin` (gRPC, operator credential) manages tenants, SCIM
//!   configurations and tokens.

pub mod accounts;
mod error;
pub mod filter_sql;
mod grpc;
pub mod projection;
pub mod read;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use event_store::consumer::{ConsumerMetrics, ConsumerSettings};
use event_store::{EventStore, StoreSettings};
use prometheus_client::registry::Registry;
use scim_events::Namespace;
use scim_rpc::account::account_admin_server::AccountAdminServer;
use scim_rpc::directory::directory_read_server::DirectoryReadServer;
use service_kit::admin_auth::OperatorAuth;
use service_kit::config::{CommonConfig, ConfigError, parse_or, process_env, string_or};
use service_kit::ops_http::{self, Readiness};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use error::{DirectoryError, SCIM_TYPE_METADATA};

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub database_url: String,
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub database_max_connections: u32,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_lookup(lookup)?,
            database_url: string_or(
                lookup,
                "DIRECTORY_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/scim_directory",
            ),
            grpc_addr: parse_or(
                lookup,
                "DIRECTORY_GRPC_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 50051)),
            )?,
            metrics_addr: parse_or(
                lookup,
                "DIRECTORY_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9101)),
            )?,
            database_max_connections: parse_or(lookup, "DIRECTORY_DATABASE_MAX_CONNECTIONS", 16)?,
        })
    }
}

pub struct Application {
    config: Config,
    pool: PgPool,
    nats: async_nats::Client,
    store: EventStore,
    grpc_listener: TcpListener,
    metrics_listener: TcpListener,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let namespace =
            Namespace::new(config.common.event_namespace.clone()).context("EVENT_NAMESPACE")?;
        let pool =
            service_kit::postgres::connect(&config.database_url, config.database_max_connections)
                .await
                .context("connecting to the directory database")?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("running directory migrations")?;
        let nats = service_kit::nats::connect(&config.common.nats_url, "directory-service")
            .await
            .context("connecting to NATS")?;
        let settings = StoreSettings {
            replicas: config.common.stream_replicas,
            ..StoreSettings::default()
        };
        let store = EventStore::connect(nats.clone(), namespace, &settings)
            .await
            .context("preparing the event stream")?;
        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("binding DIRECTORY_GRPC_ADDR {}", config.grpc_addr))?;
        let metrics_listener = TcpListener::bind(config.metrics_addr)
            .await
            .with_context(|| format!("binding DIRECTORY_METRICS_ADDR {}", config.metrics_addr))?;
        Ok(Self {
            config,
            pool,
            nats,
            store,
            grpc_listener,
            metrics_listener,
        })
    }

    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc_listener.local_addr()
    }

    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            pool,
            nats,
            store,
            grpc_listener,
            metrics_listener,
        } = self;
        let mut registry = Registry::with_prefix("directory");
        let consumer_metrics = ConsumerMetrics::default();
        consumer_metrics.register(&mut registry);
        let readiness = Readiness::default();

        let checkpoint_name = projection::checkpoint_name(store.namespace());
        let (applied_tx, applied_rx) =
            watch::channel(projection::read_checkpoint(&pool, &checkpoint_name).await?);
        let consumer = tokio::spawn(run_projection(
            store.clone(),
            pool.clone(),
            applied_tx,
            consumer_metrics,
            shutdown.clone(),
        ));

        let accounts = accounts::AccountStore::new(pool.clone());
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<DirectoryReadServer<grpc::DirectoryReadService>>()
            .await;
        let read_service = grpc::DirectoryReadService::new(
            pool.clone(),
            accounts.clone(),
            applied_rx,
            checkpoint_name,
        );
        let admin_service = AccountAdminServer::with_interceptor(
            accounts::AccountAdminService::new(accounts).with_revocation_notifier(
                accounts::RevocationNotifier {
                    nats: nats.clone(),
                    subject: store.namespace().token_revocations_subject(),
                },
            ),
            OperatorAuth::new(&config.common.admin_token),
        );
        let grpc_shutdown = shutdown.clone();
        let grpc = tonic::transport::Server::builder()
            .trace_fn(telemetry::propagation::grpc_server_span)
            .add_service(health_service)
            .add_service(DirectoryReadServer::new(read_service))
            .add_service(admin_service)
            .serve_with_incoming_shutdown(service_kit::grpc::incoming(grpc_listener), async move {
                grpc_shutdown.cancelled().await
            });
        let ops = ops_http::serve(
            metrics_listener,
            ops_http::router(Arc::new(registry), readiness.clone()),
            shutdown.clone(),
        );
        readiness.set_ready(true);
        let drain = {
            let shutdown = shutdown.clone();
            let readiness = readiness.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_ready(false);
                health_reporter
                    .set_not_serving::<DirectoryReadServer<grpc::DirectoryReadService>>()
                    .await;
            }
        };
        let (grpc_result, ops_result, ()) = tokio::join!(grpc, ops, drain);
        grpc_result.context("gRPC server")?;
        ops_result.context("ops HTTP server")?;
        consumer.await.context("projection task")?;
        if let Err(error) = nats.drain().await {
            tracing::warn!(%error, "draining NATS");
        }
        pool.close().await;
        Ok(())
    }
}

async fn run_projection(
    store: EventStore,
    pool: PgPool,
    applied: watch::Sender<u64>,
    metrics: ConsumerMetrics,
    shutdown: CancellationToken,
) {
    let namespace = store.namespace().clone();
    let settings = ConsumerSettings {
        durable_name: namespace.consumer_name("directory"),
        filter_subject: namespace.directory_subjects(),
        batch_size: 500,
        ack_wait: Duration::from_secs(30),
    };
    let lock = service_kit::leader::lock_key(&settings.durable_name);
    let leadership = match service_kit::leader::acquire(&pool, lock, &shutdown).await {
        Ok(Some(leadership)) => leadership,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "cannot take the projection lock");
            return;
        }
    };
    tracing::info!(consumer = %settings.durable_name, "this replica runs the directory projection");
    let mut handler = projection::DirectoryProjection::new(
        pool,
        applied,
        projection::checkpoint_name(&namespace),
    );
    if let Err(error) =
        event_store::consumer::run(&store, &settings, &mut handler, &metrics, &shutdown).await
    {
        tracing::error!(%error, "directory projection stopped");
    }
    drop(leadership);
}
