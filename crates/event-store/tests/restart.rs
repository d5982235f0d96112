//! Claims and version checks survive a JetStream server restart.
//!
//! nats-server versions before the fixes in nats-io/nats-server#8254, #8285 and #8506 could
//! lose a file-backed stream's per-subject index on restart, for every stream with
//! `MaxMsgsPerSubject` (every KV bucket): a KV `create` then succeeded over an existing key,
//! and two users got the same userName. The server here is a private one the test restarts
//! on the same store (see `test_support::NatsServer`), the pinned binary `cargo xtask`
//! installs, never the shared `NATS_URL` server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use async_nats::connection::State;
use event_store::claims::ClaimOutcome;
use event_store::{AppendError, EventStore, StoreSettings};
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, Namespace};
use serde_json::json;
use test_support::NatsServer;

#[derive(Debug, Clone, Copy)]
enum Restart {
    /// SIGTERM, as an orchestrator stops a pod.
    Graceful,
    /// SIGKILL, as a crash or an OOM kill ends it.
    Crash,
}

async fn restart(server: &mut NatsServer, how: Restart) {
    match how {
        Restart::Graceful => server.stop().await,
        Restart::Crash => server.kill().await,
    }
    server.start_again().await;
}

/// The client keeps its connection object across the restart, as a running gateway does; it
/// is used once it has reconnected.
async fn reconnected(client: &async_nats::Client) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while client.connection_state() != State::Connected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the client did not reconnect within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn created(id: &str, user_name: &str) -> EventEnvelope {
    EventEnvelope::new(
        "tenant1",
        AggregateKind::User,
        id,
        Actor::default(),
        "req",
        EventPayload::UserCreated {
            resource: json!({"userName": user_name}),
        },
    )
}

async fn claim(store: &EventStore, user_name: &str, user_id: &str) -> ClaimOutcome {
    store
        .claim_user_name("tenant1", user_name, user_id)
        .await
        .unwrap()
}

fn taken_by(owner: &str) -> ClaimOutcome {
    ClaimOutcome::Taken {
        owner_id: owner.into(),
    }
}

async fn claims_and_versions_survive(how: Restart) {
    let mut server = NatsServer::start().await;
    let client = async_nats::connect(server.url()).await.unwrap();
    let namespace = Namespace::new("restart").unwrap();
    let store = EventStore::connect(client.clone(), namespace, &StoreSettings::default())
        .await
        .unwrap();

    assert!(matches!(
        claim(&store, "alice", "u1").await,
        ClaimOutcome::Claimed { .. }
    ));
    // A released claim leaves a delete marker: after the restart it must be free, not taken.
    assert!(matches!(
        claim(&store, "bob", "u2").await,
        ClaimOutcome::Claimed { .. }
    ));
    store
        .release_user_name("tenant1", "bob", "u2")
        .await
        .unwrap();
    let first = store.append(&created("u1", "alice"), 0).await.unwrap();

    restart(&mut server, how).await;
    reconnected(&client).await;

    // The key exists: a create must still conflict (u1's claim is young, so not an orphan).
    assert_eq!(claim(&store, "alice", "u3").await, taken_by("u1"));
    // Another create of u1 (another payload, so not a deduplicated retry) must still fail its
    // version check (expected last subject sequence 0): u1's event is there.
    let again = store.append(&created("u1", "alice.other"), 0).await;
    assert!(
        matches!(again, Err(AppendError::Conflict { expected: 0 })),
        "{again:?}"
    );
    assert!(matches!(
        claim(&store, "bob", "u4").await,
        ClaimOutcome::Claimed { .. }
    ));
    assert_eq!(claim(&store, "bob", "u5").await, taken_by("u4"));
    store
        .release_user_name("tenant1", "alice", "u1")
        .await
        .unwrap();
    assert!(matches!(
        claim(&store, "alice", "u3").await,
        ClaimOutcome::Claimed { .. }
    ));

    // A second restart, after the post-restart writes, still keeps every claim.
    restart(&mut server, how).await;
    reconnected(&client).await;
    assert_eq!(claim(&store, "alice", "u6").await, taken_by("u3"));
    assert_eq!(claim(&store, "bob", "u6").await, taken_by("u4"));
    let last = store
        .load_last("tenant1", AggregateKind::User, "u1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.sequence, first);
}

#[tokio::test]
async fn claims_still_conflict_after_a_graceful_restart() {
    claims_and_versions_survive(Restart::Graceful).await;
}

#[tokio::test]
async fn claims_still_conflict_after_a_crash() {
    claims_and_versions_survive(Restart::Crash).await;
}

/// A page of publishes whose acknowledgements never come (the server went away under them)
/// fails within about one publish timeout (5 s), not one timeout per event: the outbox relays
/// publish pages of a hundred, and a relay stuck for minutes held every projection's lag up
/// (the chaos nats-restart scenario).
#[tokio::test]
async fn a_page_whose_acks_never_come_fails_within_one_timeout() {
    let mut server = NatsServer::start().await;
    let client = async_nats::connect(server.url()).await.unwrap();
    let store = EventStore::connect(
        client.clone(),
        Namespace::new("unacked").unwrap(),
        &StoreSettings::default(),
    )
    .await
    .unwrap();
    server.stop().await;
    let page: Vec<EventEnvelope> = (0..20)
        .map(|n| created(&format!("u{n}"), &format!("user{n}")))
        .collect();
    let started = tokio::time::Instant::now();
    let results = store.append_unchecked_all(&page).await;
    let took = started.elapsed();
    assert_eq!(results.len(), 20);
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(
        took < Duration::from_secs(15),
        "20 unacknowledged publishes took {took:?}; awaited one after another they take 100 s"
    );
}
