//! Durable pull consumers feeding ordered batches to a projection.
//!
//! The projection's database checkpoint is the truth, not the consumer's ack
//! floor: every time the runner starts, it recreates the durable consumer at
//! `checkpoint + 1`. So a rebuilt (emptied) projection replays from the start,
//! and acks are only an optimisation. Handlers commit their changes and the
//! checkpoint in one transaction, which makes redelivery harmless (I5).

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use scim_events::{Actor, AggregateKind, EventEnvelope, EventPayload, QuarantineNotice};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{EventStore, StoreError, StoredEvent};

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub durable_name: String,
    pub filter_subject: String,
    pub batch_size: usize,
    pub ack_wait: Duration,
}

/// Consumer health as Prometheus metrics.
#[derive(Clone, Default)]
pub struct ConsumerMetrics {
    pub pending: Gauge,
    pub applied_sequence: Gauge,
    pub events_applied: Counter,
    pub events_terminated: Counter,
    pub events_quarantined: Counter,
    pub batch_retries: Counter,
}

impl ConsumerMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "consumer_pending",
            "Messages not yet delivered to the consumer",
            self.pending.clone(),
        );
        registry.register(
            "projection_applied_sequence",
            "Stream sequence of the last applied event",
            self.applied_sequence.clone(),
        );
        registry.register(
            "consumer_events_applied",
            "Events applied",
            self.events_applied.clone(),
        );
        registry.register(
            "consumer_events_terminated",
            "Undecodable events skipped (poison messages)",
            self.events_terminated.clone(),
        );
        registry.register(
            "consumer_events_quarantined",
            "Events the projection could not apply, set aside for an operator (see scimctl quarantine)",
            self.events_quarantined.clone(),
        );
        registry.register(
            "consumer_batch_retries",
            "Batch handler failures retried",
            self.batch_retries.clone(),
        );
    }
}

/// Why a projection could not apply events, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub message: String,
    /// A failure of the environment (database unreachable, a timeout): retried as it is,
    /// forever, because the events are fine. Otherwise the failure belongs to an event (it
    /// cannot be stored, or the code cannot handle it): that event is quarantined.
    pub transient: bool,
}

impl HandlerError {
    pub fn transient(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            transient: true,
        }
    }

    pub fn permanent(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            transient: false,
        }
    }

    /// The same failure with what it happened to in front.
    pub fn context(self, what: impl std::fmt::Display) -> Self {
        Self {
            message: format!("{what}: {}", self.message),
            transient: self.transient,
        }
    }
}

/// A projection: applies ordered batches and remembers how far it got.
pub trait BatchHandler: Send {
    /// The stream sequence of the last event this projection committed.
    fn checkpoint(&mut self) -> impl Future<Output = Result<u64, HandlerError>> + Send;

    /// Applies `batch` (in stream order, all with sequence > checkpoint) and
    /// commits the new checkpoint in the same transaction.
    fn apply(
        &mut self,
        batch: Vec<StoredEvent>,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Sets `event` aside as one this projection cannot apply, and moves the checkpoint past
    /// it, in one transaction: the projection goes on with the next event instead of stopping
    /// for every tenant (I11). An operator can list and retry quarantined events.
    fn quarantine(
        &mut self,
        event: &StoredEvent,
        error: &HandlerError,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Runs until `shutdown`, surviving NATS reconnects and handler failures.
pub async fn run<H: BatchHandler>(
    store: &EventStore,
    settings: &ConsumerSettings,
    handler: &mut H,
    metrics: &ConsumerMetrics,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    while !shutdown.is_cancelled() {
        match run_once(store, settings, handler, metrics, shutdown).await {
            Ok(()) => {}
            Err(error) => {
                tracing::error!(%error, consumer = %settings.durable_name, "consumer failed, restarting");
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    Ok(())
}

async fn run_once<H: BatchHandler>(
    store: &EventStore,
    settings: &ConsumerSettings,
    handler: &mut H,
    metrics: &ConsumerMetrics,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    let mut checkpoint = handler
        .checkpoint()
        .await
        .map_err(|error| StoreError::jetstream("read checkpoint", error))?;
    let consumer = recreate_consumer(store, settings, checkpoint).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(settings.batch_size)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .map_err(|error| StoreError::jetstream("pull messages", error))?
        .ready_chunks(settings.batch_size);

    loop {
        let chunk = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            chunk = messages.next() => chunk,
        };
        let Some(chunk) = chunk else {
            return Err(StoreError::jetstream(
                "pull messages",
                "message stream ended",
            ));
        };
        let mut delivered = Vec::with_capacity(chunk.len());
        for message in chunk {
            delivered
                .push(message.map_err(|error| StoreError::jetstream("receive message", error))?);
        }
        let batch = decode_batch(&delivered, checkpoint, metrics).await;
        let last_in_batch = batch.last().map(|event| event.sequence);
        if !batch.is_empty() {
            let size = batch.len();
            let span =
                tracing::info_span!("consume.batch", consumer = %settings.durable_name, size);
            if let Some(first) = batch.first().and_then(|event| event.headers.as_ref()) {
                telemetry::propagation::set_remote_parent(
                    &span,
                    telemetry::propagation::extract_nats(first),
                );
            }
            apply_with_retry(
                store,
                &settings.durable_name,
                handler,
                batch,
                &delivered,
                metrics,
                shutdown,
            )
            .instrument(span)
            .await?;
            metrics.events_applied.inc_by(size as u64);
        }
        if let Some(sequence) = last_in_batch {
            checkpoint = sequence;
            metrics
                .applied_sequence
                .set(i64::try_from(sequence).unwrap_or(i64::MAX));
        }
        if let Some(message) = delivered.last()
            && let Err(error) = message.ack().await
        {
            // The checkpoint already protects us; a lost ack only means a
            // harmless redelivery.
            tracing::debug!(%error, "ack failed");
        }
        if let Some(pending) = delivered
            .last()
            .and_then(|message| message.info().ok())
            .map(|info| info.pending)
        {
            metrics
                .pending
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
    }
}

async fn recreate_consumer(
    store: &EventStore,
    settings: &ConsumerSettings,
    checkpoint: u64,
) -> Result<async_nats::jetstream::consumer::Consumer<pull::Config>, StoreError> {
    let stream = store.stream();
    match stream.delete_consumer(&settings.durable_name).await {
        Ok(_) => {}
        Err(error) => tracing::debug!(%error, "no previous consumer to delete"),
    }
    let deliver_policy = if checkpoint == 0 {
        DeliverPolicy::All
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: checkpoint + 1,
        }
    };
    let batch = i64::try_from(settings.batch_size).unwrap_or(1000);
    stream
        .create_consumer(pull::Config {
            durable_name: Some(settings.durable_name.clone()),
            filter_subject: settings.filter_subject.clone(),
            // Batches are applied in order and committed before acking, so
            // acknowledging the last message of a batch covers the batch:
            // one ack per batch instead of one per event.
            ack_policy: AckPolicy::All,
            ack_wait: settings.ack_wait,
            deliver_policy,
            max_ack_pending: batch.saturating_mul(4),
            ..Default::default()
        })
        .await
        .map_err(|error| StoreError::jetstream("create consumer", error))
}

/// Decodes the batch, dropping what the checkpoint says is already applied
/// and terminating poison messages (they would otherwise block the stream
/// forever; they are counted and logged for an operator).
async fn decode_batch(
    delivered: &[Message],
    checkpoint: u64,
    metrics: &ConsumerMetrics,
) -> Vec<StoredEvent> {
    let mut batch = Vec::with_capacity(delivered.len());
    let mut high_water = checkpoint;
    for message in delivered {
        let Ok(info) = message.info() else {
            continue;
        };
        let sequence = info.stream_sequence;
        if sequence <= high_water {
            continue;
        }
        match EventEnvelope::from_json(&message.payload) {
            Ok(envelope) => {
                high_water = sequence;
                batch.push(StoredEvent {
                    sequence,
                    subject: message.subject.to_string(),
                    envelope,
                    headers: message.headers.clone(),
                });
            }
            Err(error) => {
                tracing::error!(%error, sequence, subject = %message.subject, "undecodable event skipped");
                metrics.events_terminated.inc();
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::debug!(%error, "term failed");
                }
            }
        }
    }
    batch
}

/// Applies a batch. A transient failure (the database is unreachable, restarting, timing out)
/// ends this run after a backoff: batches commit asynchronously, so a database that crashed
/// may have lost batches it already acknowledged, and only the checkpoint it still holds says
/// where to resume. The runner starts again from there; version guards and the checkpoint make
/// the re-applied events harmless (I5). A batch that fails
/// for a reason of its own is applied again one event at a time, so that exactly the events
/// that fail are quarantined and every other event is applied, in stream order.
async fn apply_with_retry<H: BatchHandler>(
    store: &EventStore,
    consumer: &str,
    handler: &mut H,
    batch: Vec<StoredEvent>,
    delivered: &[Message],
    metrics: &ConsumerMetrics,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    match handler.apply(batch.clone()).await {
        Ok(()) => return Ok(()),
        Err(error) if error.transient => {
            return resume_from_checkpoint(error, None, delivered, metrics, shutdown).await;
        }
        Err(error) => {
            tracing::warn!(%error, size = batch.len(), "a batch failed; applying its events one by one");
        }
    }
    for event in batch {
        let outcome = match handler.apply(vec![event.clone()]).await {
            Ok(()) => continue,
            Err(error) if error.transient => Err(error),
            Err(error) => {
                let quarantined = handler.quarantine(&event, &error).await;
                if quarantined.is_ok() {
                    metrics.events_quarantined.inc();
                    tracing::error!(
                        sequence = event.sequence,
                        subject = %event.subject,
                        tenant = %event.envelope.tenant_id,
                        %error,
                        "event quarantined; the projection goes on"
                    );
                    announce_quarantine(store, consumer, &event, &error).await;
                }
                quarantined
            }
        };
        if let Err(error) = outcome {
            return resume_from_checkpoint(
                error,
                Some(event.sequence),
                delivered,
                metrics,
                shutdown,
            )
            .await;
        }
    }
    Ok(())
}

/// Ends the run after a transient failure, once a short pause has passed (keeping the
/// delivered messages ours meanwhile); the runner resumes from the stored checkpoint.
async fn resume_from_checkpoint(
    error: HandlerError,
    sequence: Option<u64>,
    delivered: &[Message],
    metrics: &ConsumerMetrics,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    metrics.batch_retries.inc();
    tracing::error!(%error, ?sequence, "applying events failed; resuming from the stored checkpoint");
    pause(delivered, shutdown).await?;
    Err(StoreError::ProjectionStorage(error.message))
}

/// Tells the tenant's provisioning log that one of its events was set aside. Never for a
/// notice itself: a projection that cannot apply notices must not announce that forever.
async fn announce_quarantine(
    store: &EventStore,
    consumer: &str,
    event: &StoredEvent,
    error: &HandlerError,
) {
    if matches!(event.envelope.payload, EventPayload::EventQuarantined(_)) {
        return;
    }
    let notice = EventEnvelope::new(
        event.envelope.tenant_id.clone(),
        AggregateKind::Request,
        format!("quarantine-{consumer}-{}", event.sequence),
        Actor {
            config_id: None,
            token_id: None,
            system: Some(consumer.to_owned()),
            admin: None,
        },
        &event.envelope.correlation_id,
        EventPayload::EventQuarantined(QuarantineNotice::new(
            consumer,
            event.sequence,
            &event.subject,
            &error.message,
        )),
    );
    if let Err(error) = store.append_unchecked(&notice).await {
        tracing::error!(%error, sequence = event.sequence, "could not record the quarantine in the provisioning log");
    }
}

/// A short pause before the run ends, keeping the delivered messages ours meanwhile instead of
/// letting them be redelivered behind later ones; the runner's own restart delay follows.
async fn pause(delivered: &[Message], shutdown: &CancellationToken) -> Result<(), StoreError> {
    for message in delivered {
        let _ = message.ack_with(AckKind::Progress).await;
    }
    tokio::select! {
        _ = shutdown.cancelled() => {
            Err(StoreError::jetstream("apply batch", "shut down while retrying"))
        }
        _ = tokio::time::sleep(Duration::from_millis(100)) => Ok(()),
    }
}
