//! The audit service on the real NATS and Postgres, one namespace and database per test
//! (`test_support`); what is audit-specific lives here.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use audit_service::Application;
use scim_events::{AggregateKind, EventEnvelope};
use test_support::TestBackend;

pub use test_support::{ADMIN_TOKEN, eventually, http_get};

pub type RunningApp = test_support::RunningService<anyhow::Error>;

/// Every test's environment; what only the audit service needs comes with [`AuditEnv`].
pub type TestEnv = TestBackend;

#[allow(async_fn_in_trait)]
pub trait AuditEnv {
    async fn new() -> Self;
    async fn start(&self) -> RunningApp;
    /// Appends `event`: directory events at their aggregate's current
    /// version (as the gateway does), others unchecked. Returns the sequence.
    async fn append(&self, event: &EventEnvelope) -> u64;
}

impl AuditEnv for TestEnv {
    async fn new() -> Self {
        TestBackend::create("audit_test").await
    }

    async fn start(&self) -> RunningApp {
        let app = Application::build(self.config("audit-service"))
            .await
            .unwrap();
        RunningApp::spawn(app.grpc_addr(), app.metrics_addr(), |stop| {
            app.run_until_stopped(stop)
        })
    }

    async fn append(&self, event: &EventEnvelope) -> u64 {
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
}
