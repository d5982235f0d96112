//! The event store: one JetStream stream, one subject per aggregate, the stream sequence as
//! the aggregate's version and expected-sequence appends for optimistic concurrency.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, kv, stream};
use bytes::Bytes;
use scim_events::{AggregateKind, EventEnvelope, Namespace};

use crate::error::{AppendError, StoreError};

/// Carries the event type so tools can route without decoding the payload.
pub const EVENT_TYPE_HEADER: &str = "Scim-Event-Type";

#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// 3 in production: an ack then means "stored on a quorum" (see
    /// docs/operations.md on durability). 1 for development.
    pub replicas: usize,
    /// How long JetStream remembers message ids for deduplication.
    pub duplicate_window: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

/// An event as stored: its stream sequence is the aggregate's version.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub sequence: u64,
    pub subject: String,
    pub envelope: EventEnvelope,
    pub headers: Option<HeaderMap>,
}

/// Creates the claims bucket's backing stream directly, with the settings
/// `create_key_value` would use. `create_key_value` first queries account
/// info, whose reply older servers (e.g. Debian's 2.9) format differently.
async fn username_bucket(
    context: &jetstream::Context,
    bucket: &str,
    settings: &StoreSettings,
) -> Result<kv::Store, StoreError> {
    context
        .get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|error| StoreError::jetstream("create key-value bucket", error))?;
    context
        .get_key_value(bucket)
        .await
        .map_err(|error| StoreError::jetstream("open key-value bucket", error))
}

#[derive(Clone)]
pub struct EventStore {
    context: jetstream::Context,
    namespace: Namespace,
    stream: stream::Stream,
    usernames: kv::Store,
    /// The largest encoded event the server takes, headers allowed for.
    max_event_bytes: usize,
}

/// Bytes of every NATS message kept for its headers (message id, expected sequence, event
/// type, trace context: a few hundred bytes), which count against the server's max_payload.
pub const HEADER_ALLOWANCE: usize = 4096;

/// nats-server's max_payload when the server did not say (its own default).
const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

impl EventStore {
    /// Creates (idempotently) the stream and the userName bucket.
    pub async fn connect(
        client: async_nats::Client,
        namespace: Namespace,
        settings: &StoreSettings,
    ) -> Result<Self, StoreError> {
        let max_payload = match client.server_info().max_payload {
            0 => DEFAULT_MAX_PAYLOAD,
            announced => announced,
        };
        let context = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .max_ack_inflight(10_000)
            .backpressure_on_inflight(true)
            .build(client);
        let stream_config = stream::Config {
            name: namespace.stream_name(),
            subjects: vec![namespace.all_subjects()],
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            retention: stream::RetentionPolicy::Limits,
            // The stream is the source of truth and the audit trail: never
            // trimmed, never edited.
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            duplicate_window: settings.duplicate_window,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        let stream = context
            .get_or_create_stream(stream_config)
            .await
            .map_err(|error| StoreError::jetstream("create stream", error))?;
        let usernames = username_bucket(&context, &namespace.username_bucket(), settings).await?;
        Ok(Self {
            context,
            namespace,
            stream,
            usernames,
            max_event_bytes: max_payload.saturating_sub(HEADER_ALLOWANCE),
        })
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    pub fn context(&self) -> &jetstream::Context {
        &self.context
    }

    pub fn stream(&self) -> &stream::Stream {
        &self.stream
    }

    pub(crate) fn usernames(&self) -> &kv::Store {
        &self.usernames
    }

    pub fn subject_of(&self, event: &EventEnvelope) -> Result<String, StoreError> {
        Ok(self.namespace.aggregate_subject(
            &event.tenant_id,
            event.aggregate_kind,
            &event.aggregate_id,
        )?)
    }

    /// Appends `event` if the aggregate is still at `expected_version`
    /// (0 = it must not exist yet). Returns the new version.
    ///
    /// A publish whose outcome is unknown (timeout) is retried with the same
    /// message id; the server's duplicate window turns a retry of a publish
    /// that did land into a duplicate ack instead of a second event.
    pub async fn append(
        &self,
        event: &EventEnvelope,
        expected_version: u64,
    ) -> Result<u64, AppendError> {
        let subject = self.subject_of(event)?;
        let message_id = event
            .message_id(expected_version)
            .map_err(StoreError::from)?;
        let payload = encode(event, self.max_event_bytes)?;
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_TYPE_HEADER, event.payload.type_name());
        telemetry::propagation::inject_nats(&mut headers);

        const ATTEMPTS: u32 = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let publish = jetstream::message::PublishMessage::build()
                .payload(payload.clone())
                .headers(headers.clone())
                .message_id(&message_id)
                .expected_last_subject_sequence(expected_version);
            let outcome = match self.context.send_publish(subject.clone(), publish).await {
                Ok(ack) => ack.await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(ack) => return Ok(ack.sequence),
                Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {
                    return match self.already_appended(&subject, &message_id).await? {
                        Some(sequence) => Ok(sequence),
                        None => Err(AppendError::Conflict {
                            expected: expected_version,
                        }),
                    };
                }
                Err(error)
                    if attempt < ATTEMPTS
                        && matches!(
                            error.kind(),
                            PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe
                        ) =>
                {
                    tracing::warn!(%error, attempt, "publish outcome unknown, retrying with the same message id");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(error) => return Err(StoreError::jetstream("publish", error).into()),
            }
        }
    }

    /// The sequence of the subject's last message when it carries `message_id`: this very
    /// append, stored by an earlier attempt whose acknowledgement was lost. nats-server 2.9
    /// deduplicated such a retry before the version check and acknowledged the original;
    /// 2.14+ checks the version first and refuses it, so the store recognises its own write.
    async fn already_appended(
        &self,
        subject: &str,
        message_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        match self.stream.direct_get_last_for_subject(subject).await {
            Ok(message) => {
                let stored_id = message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|value| value.as_str());
                Ok((stored_id == Some(message_id)).then_some(message.sequence))
            }
            Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(error) => Err(StoreError::jetstream("load aggregate", error)),
        }
    }

    /// Appends an event that needs no concurrency check (e.g. a rejected
    /// request, which is its own aggregate). Still deduplicated by id.
    pub async fn append_unchecked(&self, event: &EventEnvelope) -> Result<u64, StoreError> {
        self.send_unchecked(event).await?.await
    }

    /// Appends many events without version checks, in order, with all of
    /// them in flight at once instead of one round trip each. One result per
    /// event, in order. Events after a failed one may still have been stored;
    /// retrying them is safe because their message ids deduplicate.
    pub async fn append_unchecked_all(
        &self,
        events: &[EventEnvelope],
    ) -> Vec<Result<u64, StoreError>> {
        let mut in_flight = Vec::with_capacity(events.len());
        for event in events {
            in_flight.push(self.send_unchecked(event).await);
        }
        // Awaited together, not one after another: when acknowledgements stop coming (NATS
        // restarted under the publishes), each would time out in turn, and a page of a hundred
        // took minutes to fail (found by the chaos nats-restart scenario). Together, the
        // whole page fails within one timeout and the caller retries it with the same ids.
        futures::future::join_all(in_flight.into_iter().map(|sent| async move {
            match sent {
                Ok(ack) => ack.await,
                Err(error) => Err(error),
            }
        }))
        .await
    }

    /// Sends the publish and returns the pending acknowledgement.
    async fn send_unchecked(
        &self,
        event: &EventEnvelope,
    ) -> Result<impl std::future::Future<Output = Result<u64, StoreError>> + use<>, StoreError>
    {
        let subject = self.subject_of(event)?;
        let payload = encode(event, self.max_event_bytes)?;
        let mut headers = HeaderMap::new();
        headers.insert(EVENT_TYPE_HEADER, event.payload.type_name());
        telemetry::propagation::inject_nats(&mut headers);
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload)
            .headers(headers)
            .message_id(event.event_id.to_string());
        let ack = self
            .context
            .send_publish(subject, publish)
            .await
            .map_err(|error| StoreError::jetstream("publish", error))?;
        Ok(async move {
            ack.await
                .map(|ack| ack.sequence)
                .map_err(|error| StoreError::jetstream("publish ack", error))
        })
    }

    /// The latest event of an aggregate, or `None` if it never existed.
    pub async fn load_last(
        &self,
        tenant_id: &str,
        kind: AggregateKind,
        id: &str,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let subject = self.namespace.aggregate_subject(tenant_id, kind, id)?;
        match self
            .stream
            .direct_get_last_for_subject(subject.clone())
            .await
        {
            Ok(message) => {
                let envelope = EventEnvelope::from_json(&message.payload)?;
                Ok(Some(StoredEvent {
                    sequence: message.sequence,
                    subject,
                    envelope,
                    headers: Some(message.headers),
                }))
            }
            Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(error) => Err(StoreError::jetstream("load aggregate", error)),
        }
    }

    /// The event stored at `sequence`, `None` when there is none (or it is not an event).
    pub async fn load_sequence(&self, sequence: u64) -> Result<Option<StoredEvent>, StoreError> {
        match self.stream.direct_get(sequence).await {
            Ok(message) => {
                let envelope = EventEnvelope::from_json(&message.payload)?;
                Ok(Some(StoredEvent {
                    sequence: message.sequence,
                    subject: message.subject.to_string(),
                    envelope,
                    headers: Some(message.headers),
                }))
            }
            Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(error) => Err(StoreError::jetstream("load event", error)),
        }
    }

    /// The sequence of the last message in the stream (0 when empty).
    pub async fn last_sequence(&self) -> Result<u64, StoreError> {
        let mut stream = self.stream.clone();
        let info = stream
            .info()
            .await
            .map_err(|error| StoreError::jetstream("stream info", error))?;
        Ok(info.state.last_sequence)
    }
}

/// The event as the stream stores it, refused before it is sent when it holds text a
/// projection could not store (the stream is immutable, so such an event would stall every
/// projection behind it, I11) or is larger than the server takes in one message.
fn encode(event: &EventEnvelope, max_bytes: usize) -> Result<Bytes, StoreError> {
    let json = event.to_json()?;
    if let Some(offset) = scim_events::storable::first_unstorable(&json) {
        return Err(StoreError::Unstorable { offset });
    }
    if json.len() > max_bytes {
        return Err(StoreError::TooLarge {
            bytes: json.len(),
            max_bytes,
        });
    }
    Ok(Bytes::from(json))
}

#[cfg(test)]
mod tests {
    use scim_events::{Actor, AggregateKind, EventPayload};
    use serde_json::json;

    use super::*;

    fn user_event(user_name: &str) -> EventEnvelope {
        EventEnvelope::new(
            "t1",
            AggregateKind::User,
            "u1",
            Actor::default(),
            "req-1",
            EventPayload::UserCreated {
                resource: json!({"userName": user_name}),
            },
        )
    }

    #[test]
    fn an_event_larger_than_the_server_takes_is_refused_before_it_is_sent() {
        let event = user_event(&"a".repeat(500));
        let size = event.to_json().unwrap().len();
        assert_eq!(encode(&event, size).unwrap().len(), size);
        let refused = encode(&event, size - 1).unwrap_err();
        assert!(
            matches!(refused, StoreError::TooLarge { bytes, max_bytes } if bytes == size && max_bytes == size - 1),
            "{refused:?}"
        );
    }

    #[test]
    fn an_event_no_projection_can_store_is_refused() {
        let refused = encode(&user_event("bell\u{7}"), usize::MAX).unwrap_err();
        assert!(
            matches!(refused, StoreError::Unstorable { .. }),
            "{refused:?}"
        );
    }
}
