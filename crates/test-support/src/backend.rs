//! What a backend service (license, audit) needs to run in a test: a random event namespace on
//! the real NATS, a database of its own on the real Postgres, and the configuration naming
//! both, with every listener on port 0.

use std::net::SocketAddr;

use event_store::{EventStore, StoreSettings};
use scim_events::Namespace;
use service_kit::config::{BackendConfig, CommonConfig};
use sqlx::PgPool;
use uuid::Uuid;

use crate::database::TestDatabase;
use crate::{eventually, minimal_env, nats_url};

pub struct TestBackend {
    pub namespace: Namespace,
    pub database: TestDatabase,
    /// The pool of `database`, for the test's own queries.
    pub db: PgPool,
    pub store: EventStore,
}

impl TestBackend {
    /// A fresh namespace and a fresh, empty database named `<database_prefix>_<random>`; the
    /// service migrates it when it starts.
    pub async fn create(database_prefix: &str) -> Self {
        crate::init_test_log();
        let id = Uuid::new_v4().simple().to_string();
        let namespace = Namespace::new(format!("t{}", &id[..12])).unwrap();
        let database = TestDatabase::create(database_prefix).await;
        let client = async_nats::connect(nats_url()).await.unwrap();
        let store = EventStore::connect(client, namespace.clone(), &StoreSettings::default())
            .await
            .unwrap();
        Self {
            namespace,
            db: database.pool.clone(),
            database,
            store,
        }
    }

    /// The configuration of `service` (its certificate): this namespace and database, ports
    /// chosen by the OS.
    pub fn config(&self, service: &str) -> BackendConfig {
        let namespace = self.namespace.name().to_owned();
        let nats = nats_url();
        let lookup = move |name: &str| match name {
            "NATS_URL" => Some(nats.clone()),
            "EVENT_NAMESPACE" => Some(namespace.clone()),
            other => minimal_env(other),
        };
        BackendConfig {
            common: CommonConfig {
                grpc_tls: Some(crate::grpc_tls_files(service)),
                ..CommonConfig::from_lookup(&lookup).unwrap()
            },
            database_url: self.database.url.clone(),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Waits until the service's projection has applied `sequence`.
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

    /// Drops the database and deletes the namespace's stream and bucket.
    pub async fn cleanup(self) {
        self.database.drop_database().await;
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
