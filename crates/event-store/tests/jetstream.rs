//! The event store against a real JetStream server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use event_store::claims::ClaimOutcome;
use event_store::{AppendError, EventStore, StoreSettings};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, Namespace};
use serde_json::json;

async fn store() -> EventStore {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(url).await.unwrap();
    let namespace = Namespace::new(format!(
        "es{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ))
    .unwrap();
    EventStore::connect(client, namespace, &StoreSettings::default())
        .await
        .unwrap()
}

/// Deletes the test's stream and its username bucket: a passing test leaves
/// nothing behind on the shared server.
async fn remove(store: EventStore) {
    let namespace = store.namespace().clone();
    for stream in [
        namespace.stream_name(),
        format!("KV_{}", namespace.username_bucket()),
    ] {
        store.context().delete_stream(&stream).await.unwrap();
    }
}

fn user_event(id: &str, payload: EventPayload) -> EventEnvelope {
    EventEnvelope::new(
        "tenant1",
        AggregateKind::User,
        id,
        Actor::default(),
        "req",
        payload,
    )
}

fn created(id: &str, user_name: &str) -> EventEnvelope {
    user_event(
        id,
        EventPayload::UserCreated {
            resource: json!({"userName": user_name}),
        },
    )
}

#[tokio::test]
async fn appends_are_version_checked_and_creates_must_be_first() {
    let store = store().await;
    let first = store.append(&created("u1", "a"), 0).await.unwrap();
    let again = store.append(&created("u1", "b"), 0).await;
    assert!(
        matches!(again, Err(AppendError::Conflict { expected: 0 })),
        "{again:?}"
    );
    let update = user_event(
        "u1",
        EventPayload::UserDeleted {
            user_name: "a".into(),
        },
    );
    let stale = store.append(&update, first + 100).await;
    assert!(matches!(stale, Err(AppendError::Conflict { .. })));
    let second = store.append(&update, first).await.unwrap();
    assert!(second > first);
    let last = store
        .load_last("tenant1", AggregateKind::User, "u1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.sequence, second);
    assert!(matches!(
        last.envelope.payload,
        EventPayload::UserDeleted { .. }
    ));
    assert!(
        store
            .load_last("tenant1", AggregateKind::User, "nobody")
            .await
            .unwrap()
            .is_none()
    );
    remove(store).await;
}

/// A publish retried after an unknown outcome must be acknowledged as the
/// original, not refused by the version check it already advanced.
#[tokio::test]
async fn a_retried_append_is_deduplicated_before_the_version_check() {
    let store = store().await;
    let event = created("u2", "dup");
    let first = store.append(&event, 0).await.unwrap();
    let mut retry = event.clone();
    retry.event_id = uuid::Uuid::now_v7();
    let replayed = store.append(&retry, 0).await.unwrap();
    assert_eq!(replayed, first);
    assert_eq!(store.last_sequence().await.unwrap(), first);
    remove(store).await;
}

#[tokio::test]
async fn user_name_claims_are_exclusive_and_orphans_are_reclaimed() {
    let store = store().await;
    assert!(matches!(
        store
            .claim_user_name("tenant1", "alice", "u1")
            .await
            .unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
    // Idempotent for the owner, refused for anyone else while u1 may still
    // be in flight (no event yet, claim younger than the grace period).
    assert!(matches!(
        store
            .claim_user_name("tenant1", "alice", "u1")
            .await
            .unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
    assert_eq!(
        store
            .claim_user_name("tenant1", "alice", "u2")
            .await
            .unwrap(),
        ClaimOutcome::Taken {
            owner_id: "u1".into()
        }
    );
    // Other tenants have their own names.
    assert!(matches!(
        store
            .claim_user_name("tenant2", "alice", "u9")
            .await
            .unwrap(),
        ClaimOutcome::Claimed { .. }
    ));

    // u1 is created, then deleted by a gateway that crashed before releasing
    // the claim: the claim is an orphan and the next user takes it over.
    let version = store.append(&created("u1", "alice"), 0).await.unwrap();
    assert_eq!(
        store
            .claim_user_name("tenant1", "alice", "u2")
            .await
            .unwrap(),
        ClaimOutcome::Taken {
            owner_id: "u1".into()
        }
    );
    store
        .append(
            &user_event(
                "u1",
                EventPayload::UserDeleted {
                    user_name: "alice".into(),
                },
            ),
            version,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .claim_user_name("tenant1", "alice", "u3")
            .await
            .unwrap(),
        ClaimOutcome::Claimed { .. }
    ));

    // Releasing only works for the owner.
    store
        .release_user_name("tenant1", "alice", "u2")
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_user_name("tenant1", "alice", "u4")
            .await
            .unwrap(),
        ClaimOutcome::Taken {
            owner_id: "u3".into()
        }
    );
    store
        .release_user_name("tenant1", "alice", "u3")
        .await
        .unwrap();
    assert!(matches!(
        store
            .claim_user_name("tenant1", "alice", "u4")
            .await
            .unwrap(),
        ClaimOutcome::Claimed { .. }
    ));
    remove(store).await;
}
