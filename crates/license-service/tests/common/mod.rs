//! The license service on the real NATS and Postgres, one namespace and database per test
//! (`test_support`); what is license-specific lives here.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use license_service::Application;
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload};
use serde_json::{Value, json};
use test_support::TestBackend;
use uuid::Uuid;

pub use test_support::{ADMIN_TOKEN, eventually, http_get};

pub type RunningApp = test_support::RunningService<anyhow::Error>;

/// Every test's environment; what only the license service needs comes with [`LicenseEnv`].
pub type TestEnv = TestBackend;

#[allow(async_fn_in_trait)]
pub trait LicenseEnv {
    async fn new() -> Self;
    async fn start(&self) -> RunningApp;
    /// Appends a user event at the user's current version; returns its sequence.
    async fn user_event(
        &self,
        tenant: &str,
        config: &str,
        user_id: &str,
        payload: EventPayload,
    ) -> u64;
    async fn create_user(&self, tenant: &str, config: &str, user_id: &str, active: bool) -> u64;
    async fn set_active(&self, tenant: &str, config: &str, user_id: &str, active: bool) -> u64;
    /// The last license event of a user, if any.
    async fn last_license_event(&self, tenant: &str, user_id: &str) -> Option<EventPayload>;
    /// How many license events the user's license subject holds.
    async fn license_event_count(&self, tenant: &str, user_id: &str) -> usize;
}

impl LicenseEnv for TestEnv {
    async fn new() -> Self {
        TestBackend::create("license_test").await
    }

    async fn start(&self) -> RunningApp {
        let app = Application::build(self.config("license-service"))
            .await
            .unwrap();
        RunningApp::spawn(app.grpc_addr(), app.metrics_addr(), |stop| {
            app.run_until_stopped(stop)
        })
    }

    async fn user_event(
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
                admin: None,
            },
            format!("req-{}", Uuid::new_v4().simple()),
            payload,
        );
        self.store.append(&event, version).await.unwrap()
    }

    async fn create_user(&self, tenant: &str, config: &str, user_id: &str, active: bool) -> u64 {
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

    async fn set_active(&self, tenant: &str, config: &str, user_id: &str, active: bool) -> u64 {
        let resource =
            json!({"id": user_id, "userName": format!("{user_id}@example.com"), "active": active});
        let payload = EventPayload::UserUpdated {
            resource,
            created: chrono::Utc::now(),
            method: "patch".into(),
        };
        self.user_event(tenant, config, user_id, payload).await
    }

    async fn last_license_event(&self, tenant: &str, user_id: &str) -> Option<EventPayload> {
        self.store
            .load_last(tenant, AggregateKind::License, user_id)
            .await
            .unwrap()
            .map(|event| event.envelope.payload)
    }

    async fn license_event_count(&self, tenant: &str, user_id: &str) -> usize {
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
}

pub fn user_name(resource: &Value) -> &str {
    resource["userName"].as_str().unwrap_or_default()
}
