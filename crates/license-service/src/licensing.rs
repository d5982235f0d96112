//! Seat decisions, each run inside the caller's transaction.
//!
//! Locking protocol (I6, and no deadlocks between the consumer and the admin
//! API):
//! 1. a transaction-scoped advisory lock per tenant, taken before any row
//!    lock (the consumer takes all tenants of its batch up front, in sorted
//!    order; a manual assign/revoke takes its one tenant);
//! 2. the pool rows `FOR UPDATE`, in id order.
//!
//! The pool row lock alone guarantees that `seats_used` never exceeds
//! `seats` through this code; the tenant lock additionally keeps a manual
//! assignment from slipping in between the consumer reading a user's status
//! and committing its deactivation.

use chrono::{DateTime, Utc};
use scim_events::{
    Actor, AdminAction, AdminActionKind, AggregateKind, EventEnvelope, EventPayload, LicenseChange,
};
use service_kit::admin_auth::OPERATOR_ACTOR;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::metrics::Tally;

pub const SERVICE_ACTOR: &str = "license-service";

pub const REASON_EXHAUSTED: &str = "pool exhausted";
pub const REASON_DEACTIVATED: &str = "user deactivated";
pub const REASON_DELETED: &str = "user deleted";
pub const REASON_REVOKED: &str = "revoked by operator";

#[derive(Debug, Clone, FromRow)]
pub struct PoolRow {
    pub id: String,
    pub tenant_id: String,
    pub config_id: String,
    pub application_instance: String,
    pub license_type: String,
    pub seats: i32,
    pub seats_used: i32,
    pub auto_assign: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct AssignmentRow {
    pub pool_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub source: String,
    pub assigned_at: DateTime<Utc>,
}

pub(crate) const POOL_COLUMNS: &str =
    "id, tenant_id, config_id, application_instance, license_type, seats, seats_used, auto_assign";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Auto,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
        }
    }
}

/// What led to a decision; copied into the decision's event.
#[derive(Debug, Clone)]
pub struct Cause {
    pub actor: Actor,
    pub correlation_id: String,
    /// The directory event that triggered an automatic decision. Decision
    /// event ids are derived from it, so replaying the stream into an emptied
    /// database republishes the same ids, which JetStream (within its
    /// duplicate window) and the audit log (always) recognise as duplicates.
    pub trigger_event_id: Option<Uuid>,
}

impl Cause {
    /// An automatic decision caused by `trigger`.
    pub fn automatic(trigger: &EventEnvelope) -> Self {
        Self {
            actor: Actor {
                config_id: trigger.actor.config_id.clone(),
                token_id: trigger.actor.token_id.clone(),
                system: Some(SERVICE_ACTOR.to_owned()),
                admin: None,
            },
            correlation_id: trigger.correlation_id.clone(),
            trigger_event_id: Some(trigger.event_id),
        }
    }

    /// A call through the admin API, authenticated by the operator credential,
    /// on behalf of `admin` (see `service_kit::admin_auth::acting_admin`).
    pub fn operator(correlation_id: String, admin: String) -> Self {
        Self {
            actor: Actor {
                config_id: None,
                token_id: None,
                system: Some(OPERATOR_ACTOR.to_owned()),
                admin: Some(admin),
            },
            correlation_id,
            trigger_event_id: None,
        }
    }
}

/// Writes an admin action into the outbox, in the caller's transaction, so
/// the relay publishes it with the change it records (nothing lost). Its
/// subject is `<root>.adm.<tenant>.config.<aggregate_id>`.
pub(crate) async fn record_admin_action(
    conn: &mut PgConnection,
    tenant_id: &str,
    aggregate_id: &str,
    action: AdminAction,
    cause: &Cause,
) -> Result<(), ServiceError> {
    let event = EventEnvelope::new(
        tenant_id,
        AggregateKind::Config,
        aggregate_id,
        cause.actor.clone(),
        cause.correlation_id.clone(),
        EventPayload::AdminActionTaken(action),
    );
    enqueue(conn, &event).await
}

/// An admin action on a pool, named as the account center shows it.
pub(crate) fn pool_action(pool: &PoolRow, action: AdminActionKind, detail: String) -> AdminAction {
    AdminAction {
        action,
        target_type: "pool".to_owned(),
        target_id: pool.id.clone(),
        target_name: Some(format!(
            "{}/{}",
            pool.application_instance, pool.license_type
        )),
        detail: Some(detail),
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Decision {
    Assigned,
    Released,
    Denied,
}

pub(crate) fn decision_event(
    pool: &PoolRow,
    user_id: &str,
    source: &str,
    reason: Option<&str>,
    decision: Decision,
    cause: &Cause,
) -> EventEnvelope {
    let change = LicenseChange {
        pool_id: pool.id.clone(),
        user_id: user_id.to_owned(),
        application_instance: pool.application_instance.clone(),
        license_type: pool.license_type.clone(),
        source: source.to_owned(),
        reason: reason.map(str::to_owned),
    };
    let payload = match decision {
        Decision::Assigned => EventPayload::LicenseAssigned(change),
        Decision::Released => EventPayload::LicenseReleased(change),
        Decision::Denied => EventPayload::LicenseDenied(change),
    };
    let mut event = EventEnvelope::new(
        pool.tenant_id.clone(),
        AggregateKind::License,
        user_id,
        cause.actor.clone(),
        cause.correlation_id.clone(),
        payload,
    );
    if let Some(trigger) = cause.trigger_event_id {
        event.event_id = derived_event_id(trigger, &pool.id, user_id, event.payload.type_name());
    }
    event
}

/// A UUIDv8 (custom layout) from a hash of the trigger, the pool, the user
/// and the kind of decision: one triggering event makes at most one decision
/// of each kind per pool and user (a deactivation releases one user's seat
/// and hands it to another).
fn derived_event_id(trigger: Uuid, pool_id: &str, user_id: &str, kind: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(trigger.as_bytes());
    hasher.update(pool_id.as_bytes());
    hasher.update([0]);
    hasher.update(user_id.as_bytes());
    hasher.update([0]);
    hasher.update(kind.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    event: &EventEnvelope,
) -> Result<(), ServiceError> {
    Ok(service_kit::outbox::enqueue(conn, event).await?)
}

/// Serialises seat decisions per tenant; see the module comment.
pub(crate) async fn lock_tenant(
    conn: &mut PgConnection,
    tenant_id: &str,
) -> Result<(), ServiceError> {
    let key = service_kit::leader::lock_key(&format!("license-tenant/{tenant_id}"));
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn lock_pool(
    conn: &mut PgConnection,
    pool_id: &str,
) -> Result<Option<PoolRow>, ServiceError> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools WHERE id = $1 FOR UPDATE");
    Ok(sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(pool_id)
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn find_assignment(
    conn: &mut PgConnection,
    pool_id: &str,
    user_id: &str,
) -> Result<Option<AssignmentRow>, ServiceError> {
    Ok(sqlx::query_as::<_, AssignmentRow>(
        "SELECT pool_id, tenant_id, user_id, source, assigned_at FROM assignments \
         WHERE pool_id = $1 AND user_id = $2",
    )
    .bind(pool_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Takes a seat in `pool` (locked by the caller) if one is free. Returns
/// `None` when the pool is full.
pub(crate) async fn take_seat(
    conn: &mut PgConnection,
    pool: &PoolRow,
    user_id: &str,
    source: Source,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<Option<AssignmentRow>, ServiceError> {
    if pool.seats_used >= pool.seats {
        return Ok(None);
    }
    let inserted = sqlx::query_as::<_, AssignmentRow>(
        "INSERT INTO assignments (pool_id, tenant_id, user_id, source) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (pool_id, user_id) DO NOTHING \
         RETURNING pool_id, tenant_id, user_id, source, assigned_at",
    )
    .bind(&pool.id)
    .bind(&pool.tenant_id)
    .bind(user_id)
    .bind(source.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(assignment) = inserted else {
        // Already held: callers check first, so this is only a safety net
        // that keeps seats_used equal to the number of rows.
        return find_assignment(conn, &pool.id, user_id).await;
    };
    sqlx::query("UPDATE pools SET seats_used = seats_used + 1 WHERE id = $1")
        .bind(&pool.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM denials WHERE pool_id = $1 AND user_id = $2")
        .bind(&pool.id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    enqueue(
        conn,
        &decision_event(
            pool,
            user_id,
            source.as_str(),
            None,
            Decision::Assigned,
            cause,
        ),
    )
    .await?;
    tally.assigned += 1;
    Ok(Some(assignment))
}

/// Records that `user_id` waits for a seat in `pool`, announcing it only the
/// first time.
async fn deny_once(
    conn: &mut PgConnection,
    pool: &PoolRow,
    user_id: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let inserted = sqlx::query(
        "INSERT INTO denials (pool_id, tenant_id, user_id) VALUES ($1, $2, $3) \
         ON CONFLICT (pool_id, user_id) DO NOTHING",
    )
    .bind(&pool.id)
    .bind(&pool.tenant_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        let event = decision_event(
            pool,
            user_id,
            Source::Auto.as_str(),
            Some(REASON_EXHAUSTED),
            Decision::Denied,
            cause,
        );
        enqueue(conn, &event).await?;
        tally.denied += 1;
    }
    Ok(())
}

/// The queue of pool `$1`: its denials of users still active (`d`: the
/// denial, `u`: the user), in `d.queue_position` order.
pub(crate) const WAITING_IN_POOL: &str = "FROM denials d \
     JOIN users u ON u.tenant_id = d.tenant_id AND u.user_id = d.user_id \
     WHERE d.pool_id = $1 AND u.active AND NOT u.deleted";

/// Gives free seats of an auto-assign pool to the users waiting longest for
/// one, in the order they were denied (first come, first served). Called when
/// a seat is freed (deactivation, deletion, revocation by hand) and when a
/// pool grows or is switched to auto-assign. Each
/// seat costs one indexed lookup, never a scan of the waiting users.
pub(crate) async fn hand_over_free_seats(
    conn: &mut PgConnection,
    pool_id: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    loop {
        let Some(pool) = lock_pool(conn, pool_id).await? else {
            return Ok(());
        };
        if !pool.auto_assign || pool.seats_used >= pool.seats {
            return Ok(());
        }
        let sql = format!("SELECT d.user_id {WAITING_IN_POOL} ORDER BY d.queue_position LIMIT 1");
        let next: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(pool_id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(user_id) = next else {
            return Ok(());
        };
        if take_seat(conn, &pool, &user_id, Source::Auto, cause, tally)
            .await?
            .is_none()
        {
            return Ok(());
        }
    }
}

/// Serves a pool whose seats or auto-assign flag an admin just changed: the
/// queue first (those users already waited), then, when auto-assign was just
/// switched on, the configuration's active users who hold no seat in it and
/// wait for none (provisioned while it was off, or before the pool existed).
pub(crate) async fn serve_after_change(
    conn: &mut PgConnection,
    pool_id: &str,
    switched_on: bool,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    hand_over_free_seats(conn, pool_id, cause, tally).await?;
    if switched_on {
        enroll_unseated_users(conn, pool_id, cause, tally).await?;
    }
    Ok(())
}

/// Gives each of the configuration's active users without a seat in
/// `pool_id` and without a place in its queue a free seat, or else a place at
/// the back of the queue, in the order the service first saw them.
async fn enroll_unseated_users(
    conn: &mut PgConnection,
    pool_id: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let Some(mut pool) = lock_pool(conn, pool_id).await? else {
        return Ok(());
    };
    if !pool.auto_assign {
        return Ok(());
    }
    let unseated: Vec<String> = sqlx::query_scalar(
        "SELECT u.user_id FROM users u \
         WHERE u.tenant_id = $1 AND u.config_id = $2 AND u.active AND NOT u.deleted \
           AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.pool_id = $3 AND a.user_id = u.user_id) \
           AND NOT EXISTS (SELECT 1 FROM denials d WHERE d.pool_id = $3 AND d.user_id = u.user_id) \
         ORDER BY u.first_seen_order",
    )
    .bind(&pool.tenant_id)
    .bind(&pool.config_id)
    .bind(&pool.id)
    .fetch_all(&mut *conn)
    .await?;
    for user_id in unseated {
        if take_seat(conn, &pool, &user_id, Source::Auto, cause, tally)
            .await?
            .is_some()
        {
            pool.seats_used += 1;
        } else {
            deny_once(conn, &pool, &user_id, cause, tally).await?;
        }
    }
    Ok(())
}

/// Frees the seat `user_id` holds in `pool` (locked by the caller).
pub(crate) async fn release_seat(
    conn: &mut PgConnection,
    pool: &PoolRow,
    user_id: &str,
    reason: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<bool, ServiceError> {
    let source: Option<String> = sqlx::query_scalar(
        "DELETE FROM assignments WHERE pool_id = $1 AND user_id = $2 RETURNING source",
    )
    .bind(&pool.id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(source) = source else {
        return Ok(false);
    };
    sqlx::query("UPDATE pools SET seats_used = seats_used - 1 WHERE id = $1")
        .bind(&pool.id)
        .execute(&mut *conn)
        .await?;
    enqueue(
        conn,
        &decision_event(
            pool,
            user_id,
            &source,
            Some(reason),
            Decision::Released,
            cause,
        ),
    )
    .await?;
    tally.released += 1;
    Ok(true)
}

/// Frees every seat of a deactivated or deleted user, hands each freed seat
/// to the user waiting longest, and forgets the user's own denials, so that a
/// reactivation is decided (and announced) afresh.
pub(crate) async fn release_all(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    reason: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools WHERE id IN \
         (SELECT pool_id FROM assignments WHERE tenant_id = $1 AND user_id = $2) \
         ORDER BY id FOR UPDATE"
    );
    let pools = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM denials WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for pool in pools {
        if release_seat(conn, &pool, user_id, reason, cause, tally).await? {
            hand_over_free_seats(conn, &pool.id, cause, tally).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct_per_decision() {
        let trigger = Uuid::now_v7();
        let a = derived_event_id(trigger, "p1", "u1", "LicenseAssigned");
        assert_eq!(a, derived_event_id(trigger, "p1", "u1", "LicenseAssigned"));
        assert_ne!(a, derived_event_id(trigger, "p2", "u1", "LicenseAssigned"));
        assert_ne!(a, derived_event_id(trigger, "p1", "u2", "LicenseAssigned"));
        assert_ne!(a, derived_event_id(trigger, "p1", "u1", "LicenseReleased"));
        assert_ne!(
            a,
            derived_event_id(Uuid::now_v7(), "p1", "u1", "LicenseAssigned")
        );
        assert_eq!(a.get_version_num(), 8);
    }
}
