//! The audit service's lifecycle: build (connect, migrate, bind) apart from serving, so tests
//! can start it on port 0 and the binary can map start-up failures to an exit code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use event_store::EventStore;
use event_store::consumer::{ConsumerMetrics, ConsumerSettings};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use scim_rpc::audit::audit_query_server::AuditQueryServer;
use service_kit::admin_auth::OperatorAuth;
use service_kit::callers::CallerPolicy;
use service_kit::grpc_tls::GrpcTls;
use service_kit::lifecycle::{self, spawn_part};
use service_kit::ops_http::{self, Readiness};
use service_kit::quarantine_admin;
use service_kit::readiness::{self, ProjectionState};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::grpc::AuditQueryService;
use crate::projection::{AuditProjection, AuditReapply};

const SERVICE_NAME: &str = "audit-service";
const BATCH_SIZE: usize = 500;
const MAX_DB_CONNECTIONS: u32 = 10;

/// A fully wired audit service whose listeners are bound but not yet
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
    /// [`Application::build_as`] acting as the login role of the database URL.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_as(config, None).await
    }

    /// Connects NATS and Postgres, runs migrations, ensures the stream and
    /// bucket exist and binds the gRPC and metrics listeners (port 0 picks a
    /// free port; see [`Application::grpc_addr`]). With `database_role`
    /// (`AUDIT_DATABASE_ROLE`), every connection the service then uses acts as
    /// that role.
    pub async fn build_as(config: Config, database_role: Option<String>) -> anyhow::Result<Self> {
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
            event_store::access::Service::Audit,
            &config,
            &crate::config::ENV,
            &MIGRATOR,
            MAX_DB_CONNECTIONS,
        )
        .await?;
        let db = match database_role {
            None => db,
            Some(role) => crate::database::acting_as(db, &role)
                .await
                .with_context(|| {
                    format!(
                        "acting as database role {role:?} ({})",
                        crate::config::DATABASE_ROLE
                    )
                })?,
        };
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

    /// The pool the service serves and projects with (tests check what it may do).
    pub fn database(&self) -> &PgPool {
        &self.db
    }

    /// Serves gRPC (with `grpc.health.v1`), the ops HTTP endpoint and the
    /// consumer (while holding the leader lock) until `shutdown` is cancelled
    /// or a part fails; then drains: health NOT_SERVING, stop accepting, let
    /// the consumer finish its batch, drain NATS.
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

        let consumer_metrics = ConsumerMetrics::default();
        let rows_written = Counter::default();
        let queries = Counter::default();
        let mut registry = Registry::with_prefix("scim");
        consumer_metrics.register(&mut registry);
        registry.register(
            "audit_records_written",
            "Audit log rows inserted",
            rows_written.clone(),
        );
        registry.register("audit_queries", "Audit queries answered", queries.clone());
        let readiness = Readiness::default();
        let ops = tokio::spawn(ops_http::serve(
            metrics_listener,
            ops_http::router(Arc::new(registry), readiness.clone()),
            ops_stop.clone(),
        ));

        let durable_name = store.namespace().consumer_name("audit");
        let settings = ConsumerSettings {
            durable_name: durable_name.clone(),
            filter_subject: store.namespace().all_subjects(),
            batch_size: BATCH_SIZE,
            ack_wait: Duration::from_secs(30),
        };
        let quarantine = quarantine_admin::server(
            db.clone(),
            store.clone(),
            durable_name.clone(),
            AuditReapply {
                checkpoint_name: durable_name.clone(),
            },
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        );
        let projection = AuditProjection::new(db.clone(), durable_name, rows_written);
        let projection_state = ProjectionState::default();
        let consumer_task = lifecycle::spawn_projection(
            db.clone(),
            store,
            settings,
            projection,
            consumer_metrics,
            projection_state.clone(),
            stop.clone(),
        );

        let service = AuditQueryService::new(db.clone(), queries);
        let services = tonic::service::Routes::new(AuditQueryServer::with_interceptor(
            service,
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        ))
        .add_service(quarantine);
        let grpc_task = spawn_part(
            "grpc",
            stop.clone(),
            service_kit::grpc::serve::<AuditQueryServer<AuditQueryService>>(
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
        tracing::info!("audit service running");
        stop.cancelled().await;
        readiness.set_ready(false);
        let _ = probe.await;

        let first_error = lifecycle::join_parts(
            vec![("grpc", grpc_task), ("projection", consumer_task)],
            ops_stop,
            ops,
        )
        .await;
        if let Err(error) = nats.drain().await {
            tracing::warn!(%error, "draining NATS failed");
        }
        db.close().await;
        tracing::info!("audit service stopped");
        first_error.map_or(Ok(()), Err)
    }
}
