//! Publishes committed license decisions from the outbox to JetStream.
//!
//! Decisions are committed with the projection (I5) and only published
//! afterwards, so a crash between the two loses nothing: the rows stay until
//! a relay (this replica's or another's, at start or on its next tick)
//! publishes them. A row published but not yet deleted is published again
//! with the same event id, which JetStream deduplicates.

use std::sync::Arc;
use std::time::Duration;

use event_store::{EventStore, StoreError};
use scim_events::EventEnvelope;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::LicenseMetrics;

const PAGE: i64 = 100;
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publishing license decisions failed: {0}")]
    Publish(StoreError),
}

#[derive(Clone)]
pub struct OutboxRelay {
    db: PgPool,
    store: EventStore,
    wake: Arc<Notify>,
    lock_key: i64,
    metrics: LicenseMetrics,
}

impl OutboxRelay {
    pub fn new(db: PgPool, store: EventStore, wake: Arc<Notify>, metrics: LicenseMetrics) -> Self {
        let lock_key = service_kit::leader::lock_key(&format!(
            "{}/outbox",
            store.namespace().consumer_name("license")
        ));
        Self {
            db,
            store,
            wake,
            lock_key,
            metrics,
        }
    }

    /// Publishes on every wake-up and tick until `stop`, then once more so
    /// decisions committed during shutdown go out before NATS is drained.
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

    /// Publishes everything pending; returns how many events went out.
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
        // One publisher at a time keeps the stream in outbox order; the lock
        // ends with the transaction, so a dead replica cannot hold it.
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(self.lock_key)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok((0, false));
        }
        let rows: Vec<(i64, serde_json::Value)> =
            sqlx::query_as("SELECT id, event FROM outbox ORDER BY id LIMIT $1")
                .bind(PAGE)
                .fetch_all(&mut *tx)
                .await?;
        let full_page = i64::try_from(rows.len()).is_ok_and(|count| count == PAGE);
        let mut done = Vec::with_capacity(rows.len());
        let mut published = 0;
        let mut failure = None;
        let mut decoded = Vec::with_capacity(rows.len());
        for (id, event) in rows {
            match serde_json::from_value::<EventEnvelope>(event) {
                Ok(envelope) => decoded.push((id, envelope)),
                Err(error) => {
                    // Retrying cannot fix it and it would block every later row.
                    tracing::error!(%error, id, "undecodable outbox row dropped");
                    done.push(id);
                }
            }
        }
        let envelopes: Vec<EventEnvelope> = decoded.iter().map(|(_, e)| e.clone()).collect();
        // The whole page is in flight at once; acknowledgements come back in
        // order, so the stream keeps outbox order.
        let results = self.store.append_unchecked_all(&envelopes).await;
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
                    // Later rows stay too; if some of them did land, their
                    // message ids make the next attempt a no-op for them.
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
        self.metrics.published.inc_by(published as u64);
        match failure {
            Some(error) => Err(RelayError::Publish(error)),
            None => Ok((published, full_page)),
        }
    }
}
