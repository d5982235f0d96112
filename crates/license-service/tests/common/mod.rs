//! Real NATS and Postgres per test: a random event namespace and a random
//! database, so tests run in parallel without seeing each other.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use event_store::{EventStore, StoreSettings};
use license_service::{Application, Config};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, Namespace};
use serde_json::{Value, json};
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
        let database = format!("license_test_{}", &id[..16]);
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

    /// Appends a user event at the user's current version; returns its sequence.
    pub async fn user_event(
        &self,
        tenant: &str,
        config: &str,
        user_id: &str,
        payload: EventPayload,
    ) -> u64 {
        let version = self
            .store
            .load_last(tenant, AggregateKind::User, user_id)
            .await
            .unwrap()
            .map_or(0, |event| event.sequence);
        let event = EventEnvelope::new(
            tenant,
            AggregateKind::User,
            user_id,
            Actor {
                config_id: Some(config.to_owned()),
                token_id: Some("tok-1".to_owned()),
                system: None,
            },
            format!("req-{}", Uuid::new_v4().simple()),
            payload,
        );
        self.store.append(&event, version).await.unwrap()
    }

    pub async fn create_user(
        &self,
        tenant: &str,
        config: &str,
        user_id: &str,
        active: bool,
    ) -> u64 {
        let resource =
            json!({"id": user_id, "userName": format!("{user_id}@example.com"), "active": active});
        self.user_event(
            tenant,
            config,
            user_id,
            EventPayload::UserCreated { resource },
        )
        .await
    }

    pub async fn set_active(&self, tenant: &str, config: &str, user_id: &str, active: bool) -> u64 {
        let resource =
            json!({"id": user_id, "userName": format!("{user_id}@example.com"), "active": active});
        let payload = EventPayload::UserUpdated {
            resource,
            created: chrono::Utc::now(),
            method: "patch".into(),
        };
        self.user_event(tenant, config, user_id, payload).await
    }

    /// Waits until the license projection has applied `sequence`.
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

    /// The last license event of a user, if any.
    pub async fn last_license_event(&self, tenant: &str, user_id: &str) -> Option<EventPayload> {
        self.store
            .load_last(tenant, AggregateKind::License, user_id)
            .await
            .unwrap()
            .map(|event| event.envelope.payload)
    }

    /// How many license events the user's license subject holds.
    pub async fn license_event_count(&self, tenant: &str, user_id: &str) -> usize {
        use futures::TryStreamExt;
        let subject = self
            .namespace
            .aggregate_subject(tenant, AggregateKind::License, user_id)
            .unwrap();
        let mut info = self
            .store
            .stream()
            .info_with_subjects(subject)
            .await
            .unwrap();
        let mut count = 0;
        while let Some((_, messages)) = info.try_next().await.unwrap() {
            count += messages;
        }
        count
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

pub fn user_name(resource: &Value) -> &str {
    resource["userName"].as_str().unwrap_or_default()
}
