//! The projection's email rows (what `emails[…]` filters search) follow each user's emails
//! through creates, updates that leave the emails alone, updates that change them, replays and
//! deletes, now that rows are rewritten only when the emails changed and no foreign key
//! removes them with the user. Real Postgres (`TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use directory_service::projection::{Applied, DirectoryProjection};
use event_store::StoredEvent;
use event_store::consumer::BatchHandler;
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use test_support::TestDatabase;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

const TENANT: &str = "tenant-emails";

fn event(sequence: u64, id: &str, payload: EventPayload) -> StoredEvent {
    StoredEvent {
        sequence,
        subject: format!("emails.user.{id}"),
        envelope: EventEnvelope::new(
            TENANT,
            AggregateKind::User,
            id,
            Actor {
                config_id: Some("cfg".into()),
                token_id: None,
                system: None,
                admin: None,
            },
            format!("req-{sequence}"),
            payload,
        ),
        headers: None,
    }
}

fn user(id: &str, title: &str, emails: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": format!("{id}@example.com"),
        "title": title,
        "emails": emails.iter().map(|value| json!({"value": value, "type": "work"})).collect::<Vec<_>>(),
    })
}

fn created(sequence: u64, id: &str, emails: &[&str]) -> StoredEvent {
    event(
        sequence,
        id,
        EventPayload::UserCreated {
            resource: user(id, "first", emails),
        },
    )
}

fn updated(sequence: u64, id: &str, title: &str, emails: &[&str]) -> StoredEvent {
    event(
        sequence,
        id,
        EventPayload::UserUpdated {
            resource: user(id, title, emails),
            created: Utc::now(),
            method: "patch".into(),
        },
    )
}

async fn email_rows(pool: &PgPool, id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT value_lower FROM user_emails WHERE tenant_id = $1 AND user_id = $2 ORDER BY value_lower",
    )
    .bind(TENANT)
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn email_rows_follow_each_users_emails() {
    let database = TestDatabase::migrated("directory_emails", &MIGRATIONS).await;
    let pool = &database.pool;
    let (applied, _watch) = tokio::sync::watch::channel(Applied::default());
    let mut projection = DirectoryProjection::new(pool.clone(), applied, "emails".into());

    // Created in one batch: one with two emails, one with none.
    projection
        .apply(vec![
            created(1, "alice", &["Alice@Example.com", "a2@example.com"]),
            created(2, "bob", &[]),
        ])
        .await
        .unwrap();
    assert_eq!(
        email_rows(pool, "alice").await,
        ["a2@example.com", "alice@example.com"]
    );
    assert!(email_rows(pool, "bob").await.is_empty());

    // An update that leaves the emails alone keeps them; one that changes them replaces them;
    // a user who gets a first email gets its row.
    projection
        .apply(vec![
            updated(
                3,
                "alice",
                "second",
                &["Alice@Example.com", "a2@example.com"],
            ),
            updated(4, "bob", "second", &["bob@example.com"]),
        ])
        .await
        .unwrap();
    assert_eq!(
        email_rows(pool, "alice").await,
        ["a2@example.com", "alice@example.com"]
    );
    assert_eq!(email_rows(pool, "bob").await, ["bob@example.com"]);
    projection
        .apply(vec![updated(5, "alice", "third", &["new@example.com"])])
        .await
        .unwrap();
    assert_eq!(email_rows(pool, "alice").await, ["new@example.com"]);

    // A stale redelivery writes nothing (the version guard), emails included.
    projection
        .apply(vec![updated(3, "alice", "second", &["old@example.com"])])
        .await
        .unwrap();
    assert_eq!(email_rows(pool, "alice").await, ["new@example.com"]);

    // Removing every email removes the rows.
    projection
        .apply(vec![updated(6, "bob", "third", &[])])
        .await
        .unwrap();
    assert!(email_rows(pool, "bob").await.is_empty());

    // A deleted user leaves no email rows behind.
    projection
        .apply(vec![event(
            7,
            "alice",
            EventPayload::UserDeleted {
                user_name: "alice@example.com".into(),
            },
        )])
        .await
        .unwrap();
    assert!(email_rows(pool, "alice").await.is_empty());
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1")
        .bind(TENANT)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
}
