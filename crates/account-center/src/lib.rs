//! The account center: where an enterprise admin signs in (with a one-time link from the
//! vendor's operator), adds SCIM configurations, generates and rotates access tokens,
//! switches automatic license assignment on or off and reads the provisioning log.
//!
//! A service of its own, so the SCIM gateway stays a SCIM edge: server-rendered pages and a
//! JSON API under the same sessions, calling the directory, license and audit services over
//! gRPC. It keeps only admins, sign-in links and sessions in its own database.

mod api;
mod backend;
mod error;
mod export;
mod identity;
mod pages;
mod routes;
mod session;
mod state;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use prometheus_client::registry::Registry;
use service_kit::admin_auth::OperatorAuth;
use service_kit::config::{CommonConfig, ConfigError, parse_or, process_env, string_or};
use service_kit::lifecycle::spawn_part;
use service_kit::ops_http::{self, Readiness};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use backend::BackendUrls;
pub use error::AppError;
pub use identity::{Invitation, Lifetimes};

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub database_url: String,
    pub http_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Where admins reach the console; links and cookies are made for it.
    pub public_url: String,
    /// The SCIM base URL admins paste into their IdP.
    pub scim_base_url: String,
    pub backends: BackendUrls,
    pub lifetimes: Lifetimes,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&process_env)
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let http_addr = parse_or(
            lookup,
            "ACCOUNT_CENTER_HTTP_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8090)),
        )?;
        let hours = |name, default| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(
                parse_or::<u64>(lookup, name, default)? * 3600,
            ))
        };
        let common = CommonConfig::from_lookup(lookup)?;
        Ok(Self {
            database_url: common.database_url(
                lookup,
                "ACCOUNT_CENTER_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/scim_account_center",
            )?,
            common,
            http_addr,
            metrics_addr: parse_or(
                lookup,
                "ACCOUNT_CENTER_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9104)),
            )?,
            public_url: string_or(
                lookup,
                "ACCOUNT_CENTER_PUBLIC_URL",
                &format!("http://{http_addr}"),
            )
            .trim_end_matches('/')
            .to_owned(),
            scim_base_url: string_or(
                lookup,
                "ACCOUNT_CENTER_SCIM_BASE_URL",
                "http://127.0.0.1:8080/scim/v2",
            ),
            backends: BackendUrls {
                directory: string_or(lookup, "DIRECTORY_GRPC_URL", "https://127.0.0.1:50051"),
                license: string_or(lookup, "LICENSE_GRPC_URL", "https://127.0.0.1:50052"),
                audit: string_or(lookup, "AUDIT_GRPC_URL", "https://127.0.0.1:50053"),
            },
            lifetimes: Lifetimes {
                invite: hours("ACCOUNT_CENTER_INVITE_TTL_HOURS", 24)?,
                session_idle: Duration::from_secs(
                    parse_or::<u64>(lookup, "ACCOUNT_CENTER_SESSION_IDLE_MINUTES", 30)? * 60,
                ),
                session_absolute: hours("ACCOUNT_CENTER_SESSION_MAX_HOURS", 12)?,
            },
        })
    }
}

/// Connections for sessions and sign-ins: a person's clicks, not a machine's load.
const DATABASE_MAX_CONNECTIONS: u32 = 5;

pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    db: PgPool,
    state: state::AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding ACCOUNT_CENTER_HTTP_ADDR {}", config.http_addr))?;
        Self::build_on(config, listener).await
    }

    /// Like [`Application::build`], serving on a listener the caller bound (a test binds
    /// port 0 and derives `public_url` from it).
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let metrics_listener = ops_http::bind(config.metrics_addr).await.with_context(|| {
            format!(
                "binding ACCOUNT_CENTER_METRICS_ADDR {}",
                config.metrics_addr
            )
        })?;
        let db = service_kit::postgres::connect(&config.database_url, DATABASE_MAX_CONNECTIONS)
            .await
            .context("connecting to the account center database (ACCOUNT_CENTER_DATABASE_URL)")?;
        sqlx::migrate!("./migrations")
            .run(&db)
            .await
            .context("migrating the account center database")?;
        let grpc_tls = service_kit::grpc_tls::GrpcTls::load(config.common.grpc_tls.as_ref())?;
        let backend = backend::Backend::connect_lazy(&config.backends, &grpc_tls)?;
        let state = state::AppState {
            identity: identity::IdentityStore::new(db.clone(), config.lifetimes),
            backend,
            operator: OperatorAuth::of(&config.common),
            settings: Arc::new(state::Settings {
                public_url: config.public_url.clone(),
                scim_base_url: config.scim_base_url.clone(),
            }),
        };
        Ok(Self {
            listener,
            metrics_listener,
            db,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`: stops accepting, finishes in-flight requests, closes the
    /// database pool. The ops endpoint answers "not ready" while that happens.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            db,
            state,
        } = self;
        let stop = shutdown.child_token();
        let ops_stop = CancellationToken::new();
        let readiness = Readiness::default();
        let registry = Registry::with_prefix("scim_account_center");
        let ops = tokio::spawn(ops_http::serve(
            metrics_listener,
            ops_http::router(Arc::new(registry), readiness.clone()),
            ops_stop.clone(),
        ));
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, public_url = %state.settings.public_url, "account center listening");
        }
        let app = routes::router(state);
        let http = spawn_part("http", stop.clone(), {
            let stop = stop.clone();
            let readiness = readiness.clone();
            async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        stop.cancelled().await;
                        readiness.set_ready(false);
                    })
                    .await
                    .context("HTTP server")
            }
        });
        readiness.set_ready(true);
        stop.cancelled().await;
        let first_error =
            service_kit::lifecycle::join_parts(vec![("http", http)], ops_stop, ops).await;
        db.close().await;
        tracing::info!("account center stopped");
        first_error.map_or(Ok(()), Err)
    }
}

/// The service as a process runs it: configuration from the environment, then the shared
/// service loop (telemetry, serve until SIGTERM or Ctrl-C, drain). Exits 64 on a configuration
/// error and 1 when the service fails.
pub async fn serve_from_env() -> std::process::ExitCode {
    service_kit::main_loop::run_service(
        "account-center",
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
