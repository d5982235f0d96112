//! The transactional outbox: events written to a service's own `outbox` table in the
//! transaction that made the change, and published to JetStream afterwards by a relay.
//!
//! A crash between the commit and the publish loses nothing: the rows stay until a relay (this
//! replica's or another's, at start or on its next tick) publishes them. A row published but not
//! yet deleted is published again with the same event id, which JetStream's duplicate window
//! drops (`Nats-Msg-Id` is the event id), so delivery is at least once and the stream holds each
//! event once.
//!
//! The table every service using it creates in its own migrations:
//!
//! ```sql
//! CREATE TABLE outbox (
//!     id         bigserial   PRIMARY KEY,
//!     event      jsonb       NOT NULL,
//!     created_at timestamptz NOT NULL DEFAULT now()
//! );
//! ```

use std::sync::Arc;
use std::time::Duration;

use event_store::{EventStore, StoreError};
use scim_events::EventEnvelope;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Rows published per transaction.
const PAGE: i64 = 100;
/// How often a relay looks for rows nobody woke it for (another replica's, or left by a crash).
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing outbox events failed: {0}")]
    Publish(StoreError),
}

/// Where a relay reports what it published (a Prometheus counter, usually).
pub trait RelayMetrics: Send + Sync {
    fn published(&self, events: u64);
}

/// For a relay whose service counts nothing.
impl RelayMetrics for () {
    fn published(&self, _events: u64) {}
}

/// Writes `event` to the outbox on `conn`, which should be the transaction of the change it
/// records; wake the relay once that transaction has committed.
pub async fn enqueue(conn: &mut PgConnection, event: &EventEnvelope) -> Result<(), sqlx::Error> {
    enqueue_all(conn, std::slice::from_ref(event)).await
}

/// [`enqueue`] for many events in one statement; the relay publishes them in this order.
pub async fn enqueue_all(
    conn: &mut PgConnection,
    events: &[EventEnvelope],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let events: Vec<sqlx::types::Json<&EventEnvelope>> =
        events.iter().map(sqlx::types::Json).collect();
    // Rows are inserted in ordinality order, so their ids (the relay's order) follow `events`.
    sqlx::query(
        "INSERT INTO outbox (event) \
         SELECT event FROM UNNEST($1::jsonb[]) WITH ORDINALITY AS batch(event, position) \
         ORDER BY position",
    )
    .bind(events)
    .execute(conn)
    .await?;
    Ok(())
}

/// Publishes a service's outbox to JetStream, one relay at a time across replicas.
#[derive(Clone)]
pub struct OutboxRelay<M> {
    db: PgPool,
    store: EventStore,
    wake: Arc<Notify>,
    lock_key: i64,
    metrics: M,
}

impl<M: RelayMetrics> OutboxRelay<M> {
    /// `service` names the outbox's owner (e.g. `license`): replicas of one service share its
    /// lock, in this event namespace. `wake` is notified after each commit that wrote rows.
    pub fn new(
        db: PgPool,
        store: EventStore,
        service: &str,
        wake: Arc<Notify>,
        metrics: M,
    ) -> Self {
        let lock_key = crate::leader::lock_key(&format!(
            "{}/outbox",
            store.namespace().consumer_name(service)
        ));
        Self {
            db,
            store,
            wake,
            lock_key,
            metrics,
        }
    }

    /// Publishes on every wake-up and tick until `stop`, then once more so that events
    /// committed during shutdown go out before NATS is drained.
    pub async fn run(&self, stop: CancellationToken) {
        loop {
            if let Err(error) = self.flush().await {
                tracing::warn!(%error, "outbox relay failed; will retry");
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
        if let Err(error) = self.flush().await {
            tracing::warn!(%error, "final outbox flush failed; rows stay for the next start");
        }
    }

    /// Publishes everything pending; returns how many events went out (0 as well when another
    /// replica's relay holds the lock: it publishes them).
    pub async fn flush(&self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let (published, more) = self.flush_page().await?;
            total += published;
            if !more {
                return Ok(total);
            }
        }
    }

    async fn flush_page(&self) -> Result<(usize, bool), RelayError> {
        let mut tx = self.db.begin().await?;
        // One publisher at a time keeps the stream in outbox order; the lock ends with the
        // transaction, so a dead replica cannot hold it.
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(self.lock_key)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok((0, false));
        }
        // As text, so that one row that does not decode is dropped alone.
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, event::text FROM outbox ORDER BY id LIMIT $1")
                .bind(PAGE)
                .fetch_all(&mut *tx)
                .await?;
        let full_page = i64::try_from(rows.len()).is_ok_and(|count| count == PAGE);
        let mut done = Vec::with_capacity(rows.len());
        let mut decoded = Vec::with_capacity(rows.len());
        for (id, event) in rows {
            match EventEnvelope::from_json(event.as_bytes()) {
                Ok(envelope) => decoded.push((id, envelope)),
                Err(error) => {
                    // Retrying cannot fix it, and it would block every later row.
                    tracing::error!(%error, id, "undecodable outbox row dropped");
                    done.push(id);
                }
            }
        }
        let envelopes: Vec<EventEnvelope> = decoded
            .iter()
            .map(|(_, envelope)| envelope.clone())
            .collect();
        // The whole page is in flight at once; acknowledgements come back in order, so the
        // stream keeps outbox order.
        let results = self.store.append_unchecked_all(&envelopes).await;
        let mut published = 0;
        let mut failure = None;
        for ((id, envelope), result) in decoded.iter().zip(results) {
            match result {
                Ok(_) => {
                    done.push(*id);
                    published += 1;
                }
                Err(error @ (StoreError::Subject(_) | StoreError::Encoding(_))) => {
                    tracing::error!(%error, id, event_id = %envelope.event_id, "unpublishable outbox row dropped");
                    done.push(*id);
                }
                Err(error) => {
                    // Later rows stay too; if some of them did land, their message ids make
                    // the next attempt a no-op for them.
                    failure = Some(error);
                    break;
                }
            }
        }
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&done)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.metrics.published(published as u64);
        match failure {
            Some(error) => Err(RelayError::Publish(error)),
            None => Ok((published, full_page)),
        }
    }
}
