//! The directory-stream consumer: user status in, seat decisions out.

use std::collections::BTreeSet;
use std::sync::Arc;

use event_store::StoredEvent;
use event_store::consumer::{BatchHandler, HandlerError};
use scim_events::{AggregateKind, EventEnvelope, EventPayload};
use serde_json::Value;
use service_kit::{checkpoint, quarantine};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;

use crate::arrivals::{Arrival, Run};
use crate::error::ServiceError;
use crate::licensing::{self, Cause, REASON_DEACTIVATED, REASON_DELETED};
use crate::metrics::{LicenseMetrics, Tally};

pub struct LicenseProjection {
    db: PgPool,
    checkpoint_name: String,
    relay_wake: Arc<Notify>,
    metrics: LicenseMetrics,
}

impl LicenseProjection {
    /// `checkpoint_name` is the durable consumer's name, so one database
    /// never mixes the positions of two namespaces.
    pub fn new(
        db: PgPool,
        checkpoint_name: String,
        relay_wake: Arc<Notify>,
        metrics: LicenseMetrics,
    ) -> Self {
        Self {
            db,
            checkpoint_name,
            relay_wake,
            metrics,
        }
    }

    async fn apply_batch(&self, batch: Vec<StoredEvent>) -> Result<Tally, ServiceError> {
        let mut tx = checkpoint::begin_batch(&self.db).await?;
        // The row lock makes a second consumer (a replica that wrongly
        // believes it leads, e.g. after its lock session died) wait and then
        // skip what this one applied, instead of applying it twice.
        let stored = checkpoint::lock(&mut tx, &self.checkpoint_name).await?;
        let fresh: Vec<StoredEvent> = batch
            .into_iter()
            .filter(|event| event.sequence > stored)
            .collect();
        let Some(last) = fresh.last().map(|event| event.sequence) else {
            return Ok(Tally::default());
        };

        let mut tally = Tally::default();
        apply_events(&mut tx, &fresh, &mut tally).await?;
        checkpoint::store(&mut tx, &self.checkpoint_name, last).await?;
        tx.commit().await?;
        Ok(tally)
    }
}

impl BatchHandler for LicenseProjection {
    async fn checkpoint(&mut self) -> Result<u64, HandlerError> {
        quarantine::checkpoint(&self.db, &self.checkpoint_name).await
    }

    async fn quarantine(
        &mut self,
        event: &StoredEvent,
        error: &HandlerError,
    ) -> Result<(), HandlerError> {
        quarantine::record(&self.db, &self.checkpoint_name, event, error).await
    }

    async fn apply(&mut self, batch: Vec<StoredEvent>) -> Result<(), HandlerError> {
        let tally = self.apply_batch(batch).await.map_err(HandlerError::from)?;
        self.metrics.record(&tally);
        if !tally.is_empty() {
            self.relay_wake.notify_one();
        }
        Ok(())
    }
}

/// Applies a quarantined event again (`scimctl quarantine retry`) with the live projection's
/// code; its decisions reach the outbox and the relay publishes them on its next tick.
pub struct LicenseReapply;

impl quarantine::Reapply for LicenseReapply {
    async fn reapply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), HandlerError> {
        apply_events(conn, std::slice::from_ref(event), &mut Tally::default())
            .await
            .map_err(HandlerError::from)
    }
}

/// Applies `events` in stream order on `conn` (the batch's transaction). Runs of active users
/// are decided together ([`arrivals::Run`]); a deactivation or deletion ends a run, since it
/// may hand a seat to a waiting user, and is applied on its own.
async fn apply_events(
    conn: &mut PgConnection,
    events: &[StoredEvent],
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let tenants: BTreeSet<&str> = events
        .iter()
        .filter(|event| event.envelope.aggregate_kind == AggregateKind::User)
        .map(|event| event.envelope.tenant_id.as_str())
        .collect();
    for tenant in tenants {
        licensing::lock_tenant(conn, tenant).await?;
    }
    let mut run = Run::default();
    for event in events {
        let envelope = &event.envelope;
        if envelope.aggregate_kind != AggregateKind::User {
            continue;
        }
        match &envelope.payload {
            EventPayload::UserCreated { resource } | EventPayload::UserUpdated { resource, .. }
                if is_active(resource) =>
            {
                let arrival = Arrival {
                    tenant_id: &envelope.tenant_id,
                    user_id: &envelope.aggregate_id,
                    config_id: envelope.actor.config_id.as_deref(),
                    trigger: envelope,
                };
                if !run.admits(&arrival) {
                    run.serve(conn, tally).await?;
                }
                run.push(arrival);
            }
            EventPayload::UserCreated { .. } | EventPayload::UserUpdated { .. } => {
                run.serve(conn, tally).await?;
                leave(conn, envelope, Leaving::Deactivated, tally).await?;
            }
            EventPayload::UserDeleted { .. } => {
                run.serve(conn, tally).await?;
                leave(conn, envelope, Leaving::Deleted, tally).await?;
            }
            _ => {}
        }
    }
    run.serve(conn, tally).await
}

/// How a user stops holding seats.
#[derive(Clone, Copy)]
enum Leaving {
    Deactivated,
    Deleted,
}

/// Records that the user of `envelope` left (a deactivation keeps a newly named
/// configuration; a deletion only marks the user) and releases every seat they hold.
async fn leave(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    leaving: Leaving,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let (record, reason) = match leaving {
        Leaving::Deactivated => (
            "INSERT INTO users (tenant_id, user_id, config_id, active, deleted) VALUES ($1, $2, $3, false, false) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE \
             SET config_id = COALESCE(EXCLUDED.config_id, users.config_id), active = false, deleted = false",
            REASON_DEACTIVATED,
        ),
        Leaving::Deleted => (
            "INSERT INTO users (tenant_id, user_id, config_id, active, deleted) VALUES ($1, $2, $3, false, true) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET active = false, deleted = true",
            REASON_DELETED,
        ),
    };
    let (tenant_id, user_id) = (envelope.tenant_id.as_str(), envelope.aggregate_id.as_str());
    sqlx::query(record)
        .bind(tenant_id)
        .bind(user_id)
        .bind(envelope.actor.config_id.as_deref())
        .execute(&mut *conn)
        .await?;
    let cause = Cause::automatic(envelope);
    licensing::release_all(conn, tenant_id, user_id, reason, &cause, tally).await
}

/// SCIM's `active`: absent or null means active. The model crate already
/// turns Entra's "True"/"False" strings into booleans; strings are still
/// accepted here so an older event cannot deactivate someone by accident.
pub(crate) fn is_active(resource: &Value) -> bool {
    let Some(object) = resource.as_object() else {
        return true;
    };
    let value = object.get("active").or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("active"))
            .map(|(_, value)| value)
    });
    match value {
        Some(Value::Bool(active)) => *active,
        Some(Value::String(text)) => !text.trim().eq_ignore_ascii_case("false"),
        _ => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn active_defaults_to_true_and_tolerates_strings() {
        assert!(is_active(&json!({"userName": "a"})));
        assert!(is_active(&json!({"active": null})));
        assert!(is_active(&json!({"active": true})));
        assert!(!is_active(&json!({"active": false})));
        assert!(!is_active(&json!({"Active": "False"})));
        assert!(is_active(&json!({"active": "True"})));
    }
}
