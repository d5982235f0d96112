//! The license service's lifecycle: build (connect, migrate, bind) apart from serving, so tests
//! can start it on port 0 and the binary can map start-up failures to an exit code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use event_store::EventStore;
use event_store::consumer::{ConsumerMetrics, ConsumerSettings};
use prometheus_client::registry::Registry;
use scim_rpc::license::license_admin_server::LicenseAdminServer;
use service_kit::admin_auth::OperatorAuth;
use service_kit::callers::CallerPolicy;
use service_kit::grpc_tls::GrpcTls;
use service_kit::lifecycle::{self, spawn_part};
use service_kit::ops_http::{self, Readiness};
use service_kit::quarantine_admin;
use service_kit::readiness::{self, ProjectionState};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::grpc::LicenseAdminService;
use crate::metrics::LicenseMetrics;
use crate::projection::{LicenseProjection, LicenseReapply};
use service_kit::outbox::OutboxRelay;

const SERVICE_NAME: &str = "license-service";
const BATCH_SIZE: usize = 256;
const MAX_DB_CONNECTIONS: u32 = 10;

/// A fully wired license service whose listeners are bound but not yet
/// serving; [`Application::run_until_stopped`] starts everything.
pub struct Application {
    config: Config,
    grpc_tls: GrpcTls,
    db: PgPool,
    nats: async_nats::Client,
    store: EventStore,
    grpc_listener: TcpListener,
    metrics_listener: TcpListener,
    grpc_addr: SocketAddr,
    metrics_addr: SocketAddr,
}

impl Application {
    /// Connects NATS and Postgres, runs migrations, ensures the stream and
    /// bucket exist and binds the gRPC and metrics listeners (port 0 picks a
    /// free port; see [`Application::grpc_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
        let service_kit::backend::BackendParts {
            grpc_tls,
            db,
            nats,
            store,
            grpc_listener,
            metrics_listener,
        } = service_kit::backend::connect(
            SERVICE_NAME,
            event_store::access::Service::License,
            &config,
            &crate::config::ENV,
            &MIGRATOR,
            MAX_DB_CONNECTIONS,
        )
        .await?;
        let grpc_addr = grpc_listener.local_addr()?;
        let metrics_addr = metrics_listener.local_addr()?;
        Ok(Self {
            config,
            grpc_tls,
            db,
            nats,
            store,
            grpc_listener,
            metrics_listener,
            grpc_addr,
            metrics_addr,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// Serves gRPC (with `grpc.health.v1`), the ops HTTP endpoint, the
    /// outbox relay and the consumer (while holding the leader lock) until
    /// `shutdown` is cancelled or a part fails; then drains: health
    /// NOT_SERVING, stop accepting, let the consumer finish its batch, publish
    /// what the outbox still holds, drain NATS.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            grpc_tls,
            db,
            nats,
            store,
            grpc_listener,
            metrics_listener,
            ..
        } = self;
        // Cancelled by the caller or by the first part that fails.
        let stop = shutdown.child_token();
        // The ops endpoint outlives the rest so probes keep answering (not
        // ready) while the service drains.
        let ops_stop = CancellationToken::new();

        let metrics = LicenseMetrics::default();
        let consumer_metrics = ConsumerMetrics::default();
        let mut registry = Registry::with_prefix("scim");
        metrics.register(&mut registry);
        consumer_metrics.register(&mut registry);
        let readiness = Readiness::default();
        let ops = tokio::spawn(ops_http::serve(
            metrics_listener,
            ops_http::router(Arc::new(registry), readiness.clone()),
            ops_stop.clone(),
        ));

        let relay_wake = Arc::new(Notify::new());
        let relay = OutboxRelay::new(
            db.clone(),
            store.clone(),
            "license",
            relay_wake.clone(),
            metrics.clone(),
        );
        let relay_task = spawn_part("relay", stop.clone(), {
            let relay = relay.clone();
            let stop = stop.clone();
            async move {
                relay.run(stop).await;
                Ok(())
            }
        });

        let durable_name = store.namespace().consumer_name("license");
        let settings = ConsumerSettings {
            durable_name: durable_name.clone(),
            filter_subject: store.namespace().directory_subjects(),
            batch_size: BATCH_SIZE,
            ack_wait: Duration::from_secs(30),
        };
        let quarantine = quarantine_admin::server(
            db.clone(),
            store.clone(),
            durable_name.clone(),
            LicenseReapply,
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        );
        let projection = LicenseProjection::new(
            db.clone(),
            durable_name,
            relay_wake.clone(),
            metrics.clone(),
        );
        let projection_state = ProjectionState::default();
        let consumer_task = lifecycle::spawn_projection(
            db.clone(),
            store.clone(),
            settings,
            projection,
            consumer_metrics,
            projection_state.clone(),
            stop.clone(),
        );

        let admin = LicenseAdminService::new(db.clone(), relay_wake, metrics);
        let services = tonic::service::Routes::new(LicenseAdminServer::with_interceptor(
            admin,
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        ))
        .add_service(quarantine);
        let grpc_task = spawn_part(
            "grpc",
            stop.clone(),
            service_kit::grpc::serve::<LicenseAdminServer<LicenseAdminService>>(
                grpc_listener,
                &grpc_tls,
                services,
                readiness.clone(),
                stop.clone(),
            ),
        );

        let probe = tokio::spawn(readiness::keep_projection_service_current(
            nats.clone(),
            db.clone(),
            projection_state,
            readiness.clone(),
            stop.clone(),
        ));
        tracing::info!("license service running");
        stop.cancelled().await;
        readiness.set_ready(false);
        let _ = probe.await;

        // The relay last, after the consumer stopped, so its last decisions are published.
        let parts = vec![
            ("grpc", grpc_task),
            ("projection", consumer_task),
            ("relay", relay_task),
        ];
        let first_error = lifecycle::join_parts(parts, ops_stop, ops).await;
        if let Err(error) = nats.flush().await {
            tracing::warn!(%error, "flushing NATS failed");
        }
        if let Err(error) = nats.drain().await {
            tracing::warn!(%error, "draining NATS failed");
        }
        db.close().await;
        tracing::info!("license service stopped");
        first_error.map_or(Ok(()), Err)
    }
}
