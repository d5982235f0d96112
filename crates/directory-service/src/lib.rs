//! The directory: the read model of users and groups, and the account center.
//!
//! - A durable JetStream consumer projects user/group events into Postgres
//!   (only one replica consumes at a time, under an advisory lock).
//! - `DirectoryRead` (gRPC) answers the gateway's reads and blocks on
//!   `AwaitApplied` until a write is visible (read-your-writes, I2).
//! - `AccountAdmin` (gRPC, operator credential) manages tenants, SCIM
//!   configurations and tokens, and records each change as an admin action in
//!   the outbox, which a relay publishes to the provisioning log (one replica
//!   at a time, under an advisory lock).

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
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use scim_events::Namespace;
use scim_rpc::account::account_admin_server::AccountAdminServer;
use scim_rpc::directory::directory_read_server::DirectoryReadServer;
use service_kit::admin_auth::OperatorAuth;
use service_kit::callers::CallerPolicy;
use service_kit::config::{CommonConfig, ConfigError, parse_or, process_env};
use service_kit::grpc_tls::GrpcTls;
use service_kit::lifecycle::{self, spawn_part};
use service_kit::ops_http::{self, Readiness};
use service_kit::outbox::{OutboxRelay, RelayMetrics};
use service_kit::quarantine_admin;
use service_kit::readiness::{self, ProjectionState};
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
    /// Connections for tenants' reads (gets, lists, lookups).
    pub database_max_connections: u32,
    /// Postgres cancels a tenant's read after this long.
    pub read_statement_timeout: Duration,
    /// Connections for token authentication and the account center: a pool of its own, so
    /// tenants' reads can never make authentication wait.
    pub accounts_max_connections: u32,
    /// How long access tokens may live.
    pub token_policy: accounts::TokenPolicy,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_lookup(lookup)?;
        Ok(Self {
            database_url: common.database_url(
                lookup,
                "DIRECTORY_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/scim_directory",
            )?,
            common,
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
            read_statement_timeout: Duration::from_millis(parse_or(
                lookup,
                "DIRECTORY_READ_STATEMENT_TIMEOUT_MS",
                5_000,
            )?),
            accounts_max_connections: parse_or(
                lookup,
                "DIRECTORY_ACCOUNTS_DATABASE_MAX_CONNECTIONS",
                4,
            )?,
            token_policy: token_policy(lookup)?,
        })
    }
}

const TOKEN_MAX_VALID_DAYS: &str = "TOKEN_MAX_VALID_DAYS";

fn token_policy(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<accounts::TokenPolicy, ConfigError> {
    let max_valid_days: u32 = parse_or(lookup, TOKEN_MAX_VALID_DAYS, accounts::DEFAULT_VALID_DAYS)?;
    if !(1..=accounts::MAX_VALID_DAYS).contains(&max_valid_days) {
        return Err(ConfigError::Invalid {
            name: TOKEN_MAX_VALID_DAYS,
            value: max_valid_days.to_string(),
            reason: format!("must be between 1 and {} days", accounts::MAX_VALID_DAYS),
        });
    }
    Ok(accounts::TokenPolicy { max_valid_days })
}

/// The projection's and the outbox relay's connections: the leader lock's session, one batch
/// at a time, and the relay's page (kept off the accounts pool, so that a relay waiting on an
/// unreachable NATS never holds a connection authentication needs).
const PROJECTION_MAX_CONNECTIONS: u32 = 4;
/// Postgres cancels an authentication or account-center statement after this long.
const ACCOUNTS_STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Admin actions the outbox relay published (`directory_outbox_published_total`).
#[derive(Clone, Default)]
struct OutboxMetrics {
    published: Counter,
}

impl RelayMetrics for OutboxMetrics {
    fn published(&self, events: u64) {
        self.published.inc_by(events);
    }
}

pub struct Application {
    config: Config,
    /// Projection writes, the leader lock and the outbox relay; no statement timeout (a batch
    /// may be large).
    pool: PgPool,
    /// Tenants' reads, with `statement_timeout`.
    read_pool: PgPool,
    /// Authentication and the account center.
    accounts_pool: PgPool,
    nats: async_nats::Client,
    store: EventStore,
    grpc_tls: GrpcTls,
    grpc_listener: TcpListener,
    metrics_listener: TcpListener,
}

/// Brings a directory database to the current schema (what `Application::build` does first;
/// also what a rebuild of the read model into a fresh database starts with).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    MIGRATOR.run(pool).await
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // First: a service without its certificate has nothing to serve with.
        let grpc_tls = GrpcTls::load(config.common.grpc_tls.as_ref())?;
        let namespace =
            Namespace::new(config.common.event_namespace.clone()).context("EVENT_NAMESPACE")?;
        let pool = service_kit::postgres::connect(&config.database_url, PROJECTION_MAX_CONNECTIONS)
            .await
            .context("connecting to the directory database (DIRECTORY_DATABASE_URL)")?;
        migrate(&pool)
            .await
            .context("running directory migrations")?;
        let read_pool = service_kit::postgres::connect_bounded(
            &config.database_url,
            config.database_max_connections,
            Some(config.read_statement_timeout),
        )
        .await
        .context("connecting the read pool (DIRECTORY_DATABASE_URL)")?;
        let accounts_pool = service_kit::postgres::connect_bounded(
            &config.database_url,
            config.accounts_max_connections,
            Some(ACCOUNTS_STATEMENT_TIMEOUT),
        )
        .await
        .context("connecting the accounts pool (DIRECTORY_DATABASE_URL)")?;
        let login = service_kit::nats::Login::service(
            event_store::access::Service::Directory,
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
        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("binding DIRECTORY_GRPC_ADDR {}", config.grpc_addr))?;
        let metrics_listener = TcpListener::bind(config.metrics_addr)
            .await
            .with_context(|| format!("binding DIRECTORY_METRICS_ADDR {}", config.metrics_addr))?;
        Ok(Self {
            config,
            pool,
            read_pool,
            accounts_pool,
            nats,
            store,
            grpc_tls,
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

    /// Serves reads and the account center, runs the projection on the replica that holds its
    /// lock and relays the outbox of admin actions to the stream, until `shutdown` or until a part fails (then the service drains and
    /// returns the error, so it exits and is restarted rather than serving without it).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            pool,
            read_pool,
            accounts_pool,
            nats,
            store,
            grpc_tls,
            grpc_listener,
            metrics_listener,
        } = self;
        let stop = shutdown.child_token();
        let ops_stop = CancellationToken::new();
        let mut registry = Registry::with_prefix("directory");
        let consumer_metrics = ConsumerMetrics::default();
        consumer_metrics.register(&mut registry);
        let outbox_metrics = OutboxMetrics::default();
        registry.register(
            "outbox_published",
            "Admin actions published from the outbox to the event stream",
            outbox_metrics.published.clone(),
        );
        let readiness = Readiness::default();
        let ops = tokio::spawn(ops_http::serve(
            metrics_listener,
            ops_http::router(Arc::new(registry), readiness.clone()),
            ops_stop.clone(),
        ));

        let namespace = store.namespace().clone();
        let checkpoint_name = projection::checkpoint_name(&namespace);
        let (applied_tx, applied_rx) =
            watch::channel(projection::Applied::read(&pool, &checkpoint_name).await?);
        let settings = ConsumerSettings {
            durable_name: namespace.consumer_name("directory"),
            filter_subject: namespace.directory_subjects(),
            batch_size: 500,
            ack_wait: Duration::from_secs(30),
        };
        let projection_state = ProjectionState::default();
        let projection_task = spawn_part("projection", stop.clone(), {
            let (pool, store, stop) = (pool.clone(), store.clone(), stop.clone());
            let role = projection_state.clone();
            let mut handler = projection::DirectoryProjection::new(
                pool.clone(),
                applied_tx,
                checkpoint_name.clone(),
            );
            async move {
                lifecycle::run_projection(
                    &pool,
                    &store,
                    &settings,
                    &mut handler,
                    &consumer_metrics,
                    &role,
                    &stop,
                )
                .await
            }
        });

        let accounts = accounts::AccountStore::new(accounts_pool.clone())
            .with_token_policy(config.token_policy);
        let relay = OutboxRelay::new(
            pool.clone(),
            store.clone(),
            "directory",
            accounts.outbox_wake(),
            outbox_metrics,
        );
        // The relay stops once the gRPC server has finished its last calls (not with `stop`),
        // so that its final flush publishes their admin actions before NATS is drained.
        let relay_stop = CancellationToken::new();
        let relay_task = spawn_part("relay", stop.clone(), {
            let relay_stop = relay_stop.clone();
            async move {
                relay.run(relay_stop).await;
                Ok(())
            }
        });
        let read_service = grpc::DirectoryReadService::new(
            read_pool.clone(),
            accounts.clone(),
            applied_rx,
            checkpoint_name,
            stop.clone(),
        );
        let admin_service = AccountAdminServer::with_interceptor(
            accounts::AccountAdminService::new(accounts),
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        );
        let quarantine = quarantine_admin::server(
            pool.clone(),
            store.clone(),
            projection::checkpoint_name(&namespace),
            projection::DirectoryReapply,
            CallerPolicy::admin(OperatorAuth::of(&config.common)),
        );
        let services = tonic::service::Routes::new(DirectoryReadServer::with_interceptor(
            read_service,
            CallerPolicy::directory_reads(),
        ))
        .add_service(admin_service)
        .add_service(quarantine);
        let server = service_kit::grpc::serve::<DirectoryReadServer<grpc::DirectoryReadService>>(
            grpc_listener,
            &grpc_tls,
            services,
            readiness.clone(),
            stop.clone(),
        );
        let grpc_task = spawn_part("grpc", stop.clone(), async move {
            // Also when the server fails or panics.
            let _relay_stop = relay_stop.drop_guard();
            server.await
        });

        let probe = tokio::spawn(readiness::keep_projection_service_current(
            nats.clone(),
            pool.clone(),
            projection_state,
            readiness.clone(),
            stop.clone(),
        ));
        stop.cancelled().await;
        readiness.set_ready(false);
        let _ = probe.await;
        let first_error = lifecycle::join_parts(
            vec![
                ("grpc", grpc_task),
                ("projection", projection_task),
                ("relay", relay_task),
            ],
            ops_stop,
            ops,
        )
        .await;
        if let Err(error) = nats.drain().await {
            tracing::warn!(%error, "draining NATS");
        }
        for pool in [pool, read_pool, accounts_pool] {
            pool.close().await;
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The service as a process runs it: configuration from the environment, then the shared
/// service loop (telemetry, serve until SIGTERM or Ctrl-C, drain). Exits 64 on a configuration
/// error and 1 when the service fails.
pub async fn serve_from_env() -> std::process::ExitCode {
    service_kit::main_loop::run_service(
        "directory-service",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |key| match key {
            "ADMIN_TOKEN" => Some("an-operator-credential-of-length".to_owned()),
            key if key == name => Some(value.to_owned()),
            _ => None,
        }
    }

    #[test]
    fn the_token_lifetime_limit_defaults_to_two_years_and_is_bounded() {
        let default = Config::from_lookup(&with("UNRELATED", "")).map(|c| c.token_policy);
        assert_eq!(
            default.ok(),
            Some(accounts::TokenPolicy {
                max_valid_days: 730
            })
        );
        let strict = Config::from_lookup(&with(TOKEN_MAX_VALID_DAYS, "90")).map(|c| c.token_policy);
        assert_eq!(
            strict.ok(),
            Some(accounts::TokenPolicy { max_valid_days: 90 })
        );
        for refused in ["0", "3651", "two years"] {
            let error = Config::from_lookup(&with(TOKEN_MAX_VALID_DAYS, refused))
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(error.contains(TOKEN_MAX_VALID_DAYS), "{refused}: {error:?}");
        }
    }
}
