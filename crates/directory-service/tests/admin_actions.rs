//! The account center's admin actions reach the event stream through the outbox, with the
//! acting admin, and nothing is lost when the process dies between a change's commit and its
//! publication; disabling a configuration refuses its tokens.
//! Real Postgres (`TEST_DATABASE_URL`) and NATS with JetStream (`NATS_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use directory_service::accounts::{
    AccountAdminService, AccountError, AccountStore, ConfigRecord, TokenPolicy,
};
use event_store::EventStore;
use scim_events::{AdminAction, AdminActionKind, AggregateKind, EventEnvelope, EventPayload};
use scim_rpc::account::account_admin_server::AccountAdmin;
use scim_rpc::account::{
    CreateScimConfigRequest, CreateTenantRequest, DeleteScimConfigRequest, IssueTokenRequest,
    RevokeConfigTokensRequest, RevokeTokenRequest, RotateTokenRequest, UpdateScimConfigRequest,
};
use service_kit::admin_auth::{OPERATOR_ACTOR, name_actor};
use service_kit::outbox::OutboxRelay;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use test_support::{TestBackend, eventually};
use tokio_util::sync::CancellationToken;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const ADA: &str = "admin:a1:ada@example.com";

struct Harness {
    backend: TestBackend,
    store: AccountStore,
    service: AccountAdminService,
}

impl Harness {
    async fn start() -> Self {
        let backend = TestBackend::create("test_dir_admin").await;
        MIGRATIONS.run(&backend.db).await.unwrap();
        let store = AccountStore::new(backend.db.clone());
        let service = AccountAdminService::new(store.clone());
        Self {
            backend,
            store,
            service,
        }
    }

    /// Two SCIM configurations, Okta and Entra, of one new tenant.
    async fn two_configs(&self) -> (ConfigRecord, ConfigRecord) {
        let tenant = self.store.create_tenant("Acme").await.unwrap();
        let okta = self
            .store
            .create_config(&tenant.id, "Okta", "", ADA)
            .await
            .unwrap();
        let entra = self
            .store
            .create_config(&tenant.id, "Entra", "", ADA)
            .await
            .unwrap();
        (okta, entra)
    }

    /// Whether the store refuses the token `secret`, for whatever reason.
    async fn refuses(&self, secret: &str) -> bool {
        self.store
            .authenticate(secret)
            .await
            .is_err_and(|error| error.is_unauthenticated())
    }

    fn relay(&self) -> OutboxRelay<()> {
        OutboxRelay::new(
            self.backend.db.clone(),
            self.backend.store.clone(),
            "directory",
            self.store.outbox_wake(),
            (),
        )
    }
}

/// A request made by `admin` in the account center, or by the operator when `None`.
fn by<T>(admin: Option<&str>, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(admin) = admin {
        name_actor(&mut request, admin).unwrap();
    }
    request
}

/// Every event of the stream, oldest first.
async fn stream_events(store: &EventStore) -> Vec<EventEnvelope> {
    let last = store.last_sequence().await.unwrap();
    let mut events = Vec::new();
    for sequence in 1..=last {
        if let Some(stored) = store.load_sequence(sequence).await.unwrap() {
            events.push(stored.envelope);
        }
    }
    events
}

fn admin_action(event: &EventEnvelope) -> &AdminAction {
    match &event.payload {
        EventPayload::AdminActionTaken(action) => action,
        other => panic!("not an admin action: {other:?}"),
    }
}

async fn outbox_rows(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_actions_reach_the_stream_with_the_acting_admin() {
    let harness = Harness::start().await;
    let service = &harness.service;
    let relay = harness.relay();
    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let (relay, stop) = (relay.clone(), stop.clone());
        async move { relay.run(stop).await }
    });

    let tenant = service
        .create_tenant(by(
            None,
            CreateTenantRequest {
                name: "Acme".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let config = service
        .create_scim_config(by(
            Some(ADA),
            CreateScimConfigRequest {
                tenant_id: tenant.id.clone(),
                name: "Okta".into(),
                description: "production".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let issued = service
        .issue_token(by(
            Some(ADA),
            IssueTokenRequest {
                config_id: config.id.clone(),
                valid_days: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let token = issued.info.unwrap();
    let rotated = service
        .rotate_token(by(
            Some(ADA),
            RotateTokenRequest {
                token_id: token.id.clone(),
                overlap_hours: 24,
                valid_days: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let successor = rotated.issued.unwrap().info.unwrap();
    service
        .revoke_token(by(
            None,
            RevokeTokenRequest {
                token_id: successor.id.clone(),
            },
        ))
        .await
        .unwrap();
    service
        .update_scim_config(by(
            Some(ADA),
            UpdateScimConfigRequest {
                config_id: config.id.clone(),
                name: Some("Okta EU".into()),
                description: None,
                disabled: None,
            },
        ))
        .await
        .unwrap();
    service
        .update_scim_config(by(
            Some(ADA),
            UpdateScimConfigRequest {
                config_id: config.id.clone(),
                disabled: Some(true),
                ..UpdateScimConfigRequest::default()
            },
        ))
        .await
        .unwrap();
    service
        .update_scim_config(by(
            Some(ADA),
            UpdateScimConfigRequest {
                config_id: config.id.clone(),
                disabled: Some(false),
                ..UpdateScimConfigRequest::default()
            },
        ))
        .await
        .unwrap();
    let deleted = service
        .delete_scim_config(by(
            Some(ADA),
            DeleteScimConfigRequest {
                config_id: config.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        deleted.tokens_revoked, 1,
        "the rotated token, still in its overlap"
    );

    // The running relay was woken by each commit; nothing waits for a tick.
    let expected = [
        (
            AdminActionKind::ConfigCreate,
            "config",
            config.id.clone(),
            ADA,
        ),
        (AdminActionKind::TokenIssue, "token", token.id.clone(), ADA),
        (AdminActionKind::TokenRotate, "token", token.id.clone(), ADA),
        (
            AdminActionKind::TokenRevoke,
            "token",
            successor.id.clone(),
            OPERATOR_ACTOR,
        ),
        (
            AdminActionKind::ConfigUpdate,
            "config",
            config.id.clone(),
            ADA,
        ),
        (
            AdminActionKind::ConfigDisable,
            "config",
            config.id.clone(),
            ADA,
        ),
        (
            AdminActionKind::ConfigEnable,
            "config",
            config.id.clone(),
            ADA,
        ),
        (
            AdminActionKind::ConfigDelete,
            "config",
            config.id.clone(),
            ADA,
        ),
    ];
    let store = &harness.backend.store;
    let wanted = expected.len();
    eventually(|| async move { stream_events(store).await.len() >= wanted }).await;
    let events = stream_events(store).await;
    let published: Vec<_> = events
        .iter()
        .map(|event| {
            let action = admin_action(event);
            (
                action.action,
                action.target_type.as_str(),
                action.target_id.clone(),
                event.actor.admin.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<_> = expected
        .iter()
        .map(|(kind, target_type, id, admin)| (*kind, *target_type, id.clone(), *admin))
        .collect();
    assert_eq!(published, expected);
    let subject = harness
        .backend
        .namespace
        .aggregate_subject(&tenant.id, AggregateKind::Config, &config.id)
        .unwrap();
    for event in &events {
        assert_eq!(event.tenant_id, tenant.id);
        assert_eq!(event.actor.config_id.as_deref(), Some(config.id.as_str()));
        assert_eq!(store.subject_of(event).unwrap(), subject);
    }
    assert_eq!(
        admin_action(&events[0]).target_name.as_deref(),
        Some("Okta")
    );
    assert_eq!(
        admin_action(&events[1]).target_name.as_deref(),
        Some(token.prefix.as_str())
    );
    assert_eq!(outbox_rows(&harness.backend.db).await, 0);

    stop.cancel();
    running.await.unwrap();
    harness.backend.cleanup().await;
}

#[tokio::test]
async fn disabling_and_deleting_refuse_every_token_of_the_configuration() {
    let harness = Harness::start().await;
    let service = &harness.service;
    let (config, other) = harness.two_configs().await;
    let (_, first_secret) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    let (_, second_secret) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    let (_, other_secret) = harness.store.issue_token(&other.id, 0, ADA).await.unwrap();

    service
        .update_scim_config(by(
            Some(ADA),
            UpdateScimConfigRequest {
                config_id: config.id.clone(),
                disabled: Some(true),
                ..UpdateScimConfigRequest::default()
            },
        ))
        .await
        .unwrap();
    for secret in [&first_secret, &second_secret] {
        assert!(harness.refuses(secret).await);
    }
    assert!(harness.store.authenticate(&other_secret).await.is_ok());

    service
        .delete_scim_config(by(
            None,
            DeleteScimConfigRequest {
                config_id: config.id.clone(),
            },
        ))
        .await
        .unwrap();
    for secret in [&first_secret, &second_secret] {
        assert!(harness.refuses(secret).await);
    }
    harness.backend.cleanup().await;
}

#[tokio::test]
async fn a_crash_between_commit_and_publish_loses_nothing() {
    let harness = Harness::start().await;
    let db = harness.backend.db.clone();
    // No relay runs: the process "dies" after each commit, before anything is published.
    let tenant = harness.store.create_tenant("Acme").await.unwrap();
    let config = harness
        .store
        .create_config(&tenant.id, "Okta", "", ADA)
        .await
        .unwrap();
    let (token, _) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    harness.store.revoke_token(&token.id, ADA).await.unwrap();
    assert_eq!(outbox_rows(&db).await, 3);
    assert_eq!(harness.backend.store.last_sequence().await.unwrap(), 0);
    let pending: Vec<String> = sqlx::query_scalar("SELECT event::text FROM outbox ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap();

    // A relay of a new process publishes what the dead one left.
    let relay = harness.relay();
    assert_eq!(relay.flush().await.unwrap(), 3);
    assert_eq!(outbox_rows(&db).await, 0);
    let events = stream_events(&harness.backend.store).await;
    let kinds: Vec<_> = events
        .iter()
        .map(|event| admin_action(event).action)
        .collect();
    assert_eq!(
        kinds,
        [
            AdminActionKind::ConfigCreate,
            AdminActionKind::TokenIssue,
            AdminActionKind::TokenRevoke
        ]
    );

    // Published but not deleted (a crash right after the publish): the next relay publishes
    // it again with the same event id, and JetStream keeps one copy.
    sqlx::query("INSERT INTO outbox (event) VALUES ($1::jsonb)")
        .bind(&pending[1])
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(relay.flush().await.unwrap(), 1);
    assert_eq!(outbox_rows(&db).await, 0);
    assert_eq!(stream_events(&harness.backend.store).await, events);

    // Another replica's relay holding the lock defers this one; nothing is lost either way.
    let mut holder = db.begin().await.unwrap();
    let key = service_kit::leader::lock_key(&format!(
        "{}/outbox",
        harness.backend.namespace.consumer_name("directory")
    ));
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();
    harness
        .store
        .update_config(
            &config.id,
            &directory_service::accounts::ConfigChanges {
                disabled: Some(true),
                ..Default::default()
            },
            ADA,
        )
        .await
        .unwrap();
    assert_eq!(relay.flush().await.unwrap(), 0);
    assert_eq!(outbox_rows(&db).await, 1);
    holder.rollback().await.unwrap();
    assert_eq!(relay.flush().await.unwrap(), 1);
    assert_eq!(stream_events(&harness.backend.store).await.len(), 4);
    harness.backend.cleanup().await;
}

#[tokio::test]
async fn revoking_all_tokens_of_a_configuration_is_one_call_recorded_per_token() {
    let harness = Harness::start().await;
    let service = &harness.service;

    let (config, other) = harness.two_configs().await;
    let (first, first_secret) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    let (second, second_secret) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    let (_, other_secret) = harness.store.issue_token(&other.id, 0, ADA).await.unwrap();
    // Already revoked: not revoked again, not recorded again.
    harness.store.revoke_token(&first.id, ADA).await.unwrap();
    let outbox_before = outbox_rows(&harness.backend.db).await;

    let revoked = service
        .revoke_config_tokens(by(
            Some(ADA),
            RevokeConfigTokensRequest {
                config_id: config.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .revoked;
    assert_eq!(
        revoked.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str()]
    );
    assert!(!revoked[0].revoked_at.is_empty());
    for secret in [&first_secret, &second_secret] {
        assert!(harness.refuses(secret).await);
    }
    assert!(harness.store.authenticate(&other_secret).await.is_ok());
    // One admin action per revoked token, by the acting admin.
    assert_eq!(outbox_rows(&harness.backend.db).await, outbox_before + 1);
    let pending: Vec<String> =
        sqlx::query_scalar("SELECT event::text FROM outbox ORDER BY id DESC LIMIT 1")
            .fetch_all(&harness.backend.db)
            .await
            .unwrap();
    let event: EventEnvelope = serde_json::from_str(&pending[0]).unwrap();
    let action = admin_action(&event);
    assert_eq!(action.action, AdminActionKind::TokenRevoke);
    assert_eq!(action.target_id, second.id);
    assert_eq!(event.actor.admin.as_deref(), Some(ADA));

    // The configuration stays usable: a new token works, and revoking again revokes only it.
    let (_, fresh_secret) = harness.store.issue_token(&config.id, 0, ADA).await.unwrap();
    assert!(harness.store.authenticate(&fresh_secret).await.is_ok());
    let again = harness
        .store
        .revoke_config_tokens(&config.id, ADA)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let nothing_left = harness
        .store
        .revoke_config_tokens(&config.id, ADA)
        .await
        .unwrap();
    assert!(nothing_left.is_empty());

    let missing = service
        .revoke_config_tokens(by(
            None,
            RevokeConfigTokensRequest {
                config_id: "no-such-config".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    harness.backend.cleanup().await;
}

#[tokio::test]
async fn tokens_live_at_most_as_long_as_the_operator_allows() {
    let harness = Harness::start().await;
    let tenant = harness.store.create_tenant("Acme").await.unwrap();
    let config = harness
        .store
        .create_config(&tenant.id, "Okta", "", ADA)
        .await
        .unwrap();

    // The default policy: two years at most, and by default.
    let refused = harness
        .store
        .issue_token(&config.id, 731, ADA)
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(
        matches!(refused, AccountError::InvalidArgument(_)),
        "{text}"
    );
    assert!(
        text.contains("730") && text.contains("TOKEN_MAX_VALID_DAYS"),
        "{text}"
    );
    let (longest, _) = harness
        .store
        .issue_token(&config.id, 730, ADA)
        .await
        .unwrap();
    assert_eq!(
        longest.expires_at - longest.created_at,
        chrono::Duration::days(730)
    );

    // A stricter operator: the default lifetime shrinks to the maximum.
    let strict = AccountStore::new(harness.backend.db.clone())
        .with_token_policy(TokenPolicy { max_valid_days: 90 });
    let (default, _) = strict.issue_token(&config.id, 0, ADA).await.unwrap();
    assert_eq!(
        default.expires_at - default.created_at,
        chrono::Duration::days(90)
    );
    assert!(strict.issue_token(&config.id, 91, ADA).await.is_err());
    let rotation = strict.rotate_token(&default.id, 0, 120, ADA).await;
    assert!(
        matches!(rotation, Err(AccountError::InvalidArgument(_))),
        "{rotation:?}"
    );
    harness.backend.cleanup().await;
}
