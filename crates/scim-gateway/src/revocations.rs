//! Revocation that cannot be missed. Every admin action on a SCIM configuration is an event
//! on the stream, written by the directory's outbox in the same transaction as the change.
//! Each gateway follows those events with an ordered consumer and, for an action that can end
//! a token's access (a token revoked or rotated, the configuration disabled or deleted),
//! forgets the configuration's cached tokens, so the next request of any of them is
//! authenticated again.
//!
//! The stream keeps what a gateway has not read yet: one cut off from NATS reads, once it is
//! back, every action it missed, starting after the last one it saw (the ordered consumer
//! resumes from its stream sequence, and this loop does so too if the consumer itself has to
//! be made again). Until then the cache's TTL (`GATEWAY_AUTH_CACHE_SECONDS`) bounds how long
//! a revoked token may still be accepted.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use event_store::EventStore;
use futures::StreamExt as _;
use scim_events::{AdminActionKind, EventEnvelope, EventPayload};
use tokio_util::sync::CancellationToken;

use crate::auth_cache::AuthCache;

/// Pause before making the consumer again after it failed.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// How often the connection is looked at: a reconnection makes the consumer again at once
/// (a restarted server may no longer know it, and the ordered consumer itself would only
/// notice after its pull requests time out, some 15 s later).
const CONNECTION_CHECK: Duration = Duration::from_millis(250);

/// Follows admin actions from stream sequence `from` (the end of the stream when the gateway
/// started: its cache was empty then) until `stop`, evicting each action's configuration from
/// `cache`.
pub async fn follow_admin_actions(
    store: EventStore,
    cache: &AuthCache,
    from: u64,
    stop: CancellationToken,
) {
    let filter_subject = store.namespace().admin_subjects();
    let client = store.context().client();
    let mut next = from.max(1);
    loop {
        let deliver_policy = DeliverPolicy::ByStartSequence {
            start_sequence: next,
        };
        let connects = client.statistics().connects.load(Ordering::Relaxed);
        let followed = tokio::select! {
            () = stop.cancelled() => return,
            followed = follow(&store, &filter_subject, deliver_policy, cache, &mut next) => followed,
            () = reconnected(&client, connects) => Err(anyhow::anyhow!("reconnected to NATS")),
        };
        if let Err(error) = followed {
            tracing::warn!(%error, next, "following admin actions again from the one after the last seen");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RETRY_PAUSE) => {}
        }
    }
}

async fn follow(
    store: &EventStore,
    filter_subject: &str,
    deliver_policy: DeliverPolicy,
    cache: &AuthCache,
    next: &mut u64,
) -> anyhow::Result<()> {
    let consumer = store
        .stream()
        .create_consumer(OrderedConfig {
            // Named, so that the filter is part of the request's subject, which is what the
            // gateway's NATS permissions allow (`event_store::access`); a fresh name each time,
            // since the consumer of an earlier attempt may still exist with another start.
            name: Some(format!(
                "{}_{}",
                store.namespace().consumer_name("gateway"),
                uuid::Uuid::new_v4().simple()
            )),
            filter_subject: filter_subject.to_owned(),
            deliver_policy,
            ..OrderedConfig::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let sequence = message.info().map(|info| info.stream_sequence).ok();
        let Some(config_id) = config_of(&message.subject) else {
            tracing::warn!(subject = %message.subject, "ignoring an admin action without a configuration");
            continue;
        };
        // An event that cannot be read is taken as a revocation: forgetting cached tokens
        // only costs a directory round trip.
        let revokes = EventEnvelope::from_json(&message.payload).map_or(true, |event| {
            matches!(event.payload, EventPayload::AdminActionTaken(action) if ends_access(action.action))
        });
        if revokes {
            tracing::info!(%config_id, "a token or configuration of this configuration ended; its cached tokens are forgotten");
            cache.evict_config(config_id);
        }
        if let Some(sequence) = sequence {
            *next = sequence + 1;
        }
    }
    anyhow::bail!("the ordered consumer ended")
}

/// Returns once the client has connected again after `connects` connections: however short
/// the outage, a restarted server may no longer know the consumer.
async fn reconnected(client: &async_nats::Client, connects: u64) {
    let statistics = client.statistics();
    while statistics.connects.load(Ordering::Relaxed) <= connects {
        tokio::time::sleep(CONNECTION_CHECK).await;
    }
}

/// Whether an admin action can end the access of a token the gateway may have cached.
fn ends_access(kind: AdminActionKind) -> bool {
    match kind {
        AdminActionKind::TokenRevoke
        | AdminActionKind::TokenRotate
        | AdminActionKind::ConfigDisable
        | AdminActionKind::ConfigDelete => true,
        AdminActionKind::ConfigCreate
        | AdminActionKind::ConfigUpdate
        | AdminActionKind::ConfigEnable
        | AdminActionKind::TokenIssue
        | AdminActionKind::AutoAssignEnable
        | AdminActionKind::AutoAssignDisable
        | AdminActionKind::OfferingUpsert => false,
    }
}

/// The configuration an admin action's subject names: `<ns>.adm.<tenant>.config.<config-id>`.
fn config_of(subject: &str) -> Option<&str> {
    let mut tokens = subject.rsplit('.');
    let config_id = tokens.next()?;
    (tokens.next() == Some("config") && !config_id.is_empty()).then_some(config_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actions_that_can_end_access_evict() {
        assert!(ends_access(AdminActionKind::TokenRevoke));
        assert!(ends_access(AdminActionKind::ConfigDisable));
        assert!(!ends_access(AdminActionKind::TokenIssue));
        assert!(!ends_access(AdminActionKind::ConfigEnable));
    }

    #[test]
    fn the_configuration_is_the_last_token_of_an_admin_subject() {
        assert_eq!(config_of("scim.adm.t1.config.c1"), Some("c1"));
        assert_eq!(config_of("scim.adm.t1.user.c1"), None);
        assert_eq!(config_of("scim.adm.t1.config."), None);
        assert_eq!(config_of("c1"), None);
    }
}
