//! Real NATS and Postgres per test: a random event namespace and a random
//! database, so tests run in parallel without seeing each other.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use audit_service::{Application, Config};
use event_store::{EventStore, StoreSettings};
use scim_events::{AggregateKind, EventEnvelope, Namespace};
use service_kit::config::CommonConfig;
use sqlx::{Connection, PgPool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token";

pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn maintenance_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |index| index + 3);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

pub struct TestEnv {
    pub namespace: Namespace,
    pub database: String,
    pub database_url: String,
    pub store: EventStore,
    pub db: PgPool,
}

impl TestEnv {
    pub async fn new() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let namespace = Namespace::new(format!("t{}", &id[..12])).unwrap();
        let database = format!("audit_test_{}", &id[..16]);
        let database_url = with_database(&maintenance_url(), &database);
        let client = async_nats::connect(nats_url()).await.unwrap();
        let store = EventStore::connect(client, namespace.clone(), &StoreSettings::default())
            .await
            .unwrap();
        // Creates the database; the application migrates it.
        let db = service_kit::postgres::connect(&database_url, 4)
            .await
            .unwrap();
        Self {
            namespace,
            database,
            database_url,
            store,
            db,
        }
    }

    pub fn config(&self) -> Config {
        let namespace = self.namespace.name().to_owned();
        let nats = nats_url();
        let lookup = move |name: &str| match name {
            "NATS_URL" => Some(nats.clone()),
            "EVENT_NAMESPACE" => Some(namespace.clone()),
            "ADMIN_TOKEN" => Some(ADMIN_TOKEN.to_owned()),
            _ => None,
        };
        Config {
            common: CommonConfig::from_lookup(&lookup).unwrap(),
            database_url: self.database_url.clone(),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    pub async fn start(&self) -> RunningApp {
        let app = Application::build(self.config()).await.unwrap();
        let grpc_addr = app.grpc_addr();
        let metrics_addr = app.metrics_addr();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(stop.clone()));
        RunningApp {
            grpc_addr,
            metrics_addr,
            stop,
            task,
        }
    }

    /// Appends `event`: directory events at their aggregate's current
    /// version (as the gateway does), others unchecked. Returns the sequence.
    pub async fn append(&self, event: &EventEnvelope) -> u64 {
        match event.aggregate_kind {
            AggregateKind::User | AggregateKind::Group => {
                let version = self
                    .store
                    .load_last(&event.tenant_id, event.aggregate_kind, &event.aggregate_id)
                    .await
                    .unwrap()
                    .map_or(0, |stored| stored.sequence);
                self.store.append(event, version).await.unwrap()
            }
            _ => self.store.append_unchecked(event).await.unwrap(),
        }
    }

    /// Waits until the audit projection has applied `sequence`.
    pub async fn wait_for_checkpoint(&self, sequence: u64) {
        let target = i64::try_from(sequence).unwrap();
        eventually(|| async {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT max(last_sequence) FROM checkpoint")
                    .fetch_one(&self.db)
                    .await
                    .ok()
                    .flatten();
            applied.is_some_and(|applied| applied >= target)
        })
        .await;
    }

    pub async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    pub async fn cleanup(self) {
        self.db.close().await;
        let mut maintenance = sqlx::PgConnection::connect(&maintenance_url())
            .await
            .unwrap();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database);
        let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut maintenance)
            .await;
        let _ = self
            .store
            .context()
            .delete_stream(self.namespace.stream_name())
            .await;
        let _ = self
            .store
            .context()
            .delete_key_value(self.namespace.username_bucket())
            .await;
    }
}

pub struct RunningApp {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the service drains within 20 s")
            .unwrap()
            .unwrap();
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
}

/// Polls `condition` until it holds, failing after 10 s.
pub async fn eventually<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A plain HTTP/1.0 GET, enough for the ops endpoint.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}
