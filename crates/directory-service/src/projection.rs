//! Projects user and group events into the read model.
//!
//! A batch and the checkpoint commit in one transaction; events at or below
//! the checkpoint are never handed to us, and every row write is additionally
//! guarded by its version, so replays and redeliveries change nothing (I5).

use chrono::{DateTime, Utc};
use event_store::StoredEvent;
use event_store::consumer::{BatchHandler, HandlerError};
use scim_events::{EventPayload, GroupState};
use serde_json::Value;
use service_kit::checkpoint;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::watch;

pub const PROJECTION_NAME: &str = "directory";

pub struct DirectoryProjection {
    pool: PgPool,
    applied: watch::Sender<u64>,
}

impl DirectoryProjection {
    pub fn new(pool: PgPool, applied: watch::Sender<u64>) -> Self {
        Self { pool, applied }
    }
}

pub async fn read_checkpoint(pool: &PgPool) -> Result<u64, sqlx::Error> {
    checkpoint::read(pool, PROJECTION_NAME).await
}

impl BatchHandler for DirectoryProjection {
    async fn checkpoint(&mut self) -> Result<u64, HandlerError> {
        let sequence = read_checkpoint(&self.pool)
            .await
            .map_err(HandlerError::new)?;
        self.applied.send_if_modified(|current| {
            let advanced = sequence > *current;
            *current = (*current).max(sequence);
            advanced
        });
        Ok(sequence)
    }

    async fn apply(&mut self, batch: Vec<StoredEvent>) -> Result<(), HandlerError> {
        let Some(last) = batch.last().map(|event| event.sequence) else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await.map_err(HandlerError::new)?;
        let stored = checkpoint::lock(&mut tx, PROJECTION_NAME)
            .await
            .map_err(HandlerError::new)?;
        for event in batch.iter().filter(|event| event.sequence > stored) {
            apply_event(&mut tx, event).await.map_err(|error| {
                HandlerError(format!(
                    "event {} ({}): {error}",
                    event.sequence,
                    event.envelope.payload.type_name()
                ))
            })?;
        }
        if last > stored {
            checkpoint::store(&mut tx, PROJECTION_NAME, last)
                .await
                .map_err(HandlerError::new)?;
        }
        tx.commit().await.map_err(HandlerError::new)?;
        self.applied.send_if_modified(|current| {
            let advanced = last > *current;
            *current = (*current).max(last);
            advanced
        });
        Ok(())
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn apply_event(
    tx: &mut Transaction<'static, Postgres>,
    event: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let envelope = &event.envelope;
    let tenant = envelope.tenant_id.as_str();
    let id = envelope.aggregate_id.as_str();
    let version = to_i64(event.sequence);
    let at = envelope.occurred_at;
    match &envelope.payload {
        EventPayload::UserCreated { resource } => {
            upsert_user(tx, tenant, id, resource, version, at, at).await
        }
        EventPayload::UserUpdated {
            resource, created, ..
        } => upsert_user(tx, tenant, id, resource, version, *created, at).await,
        EventPayload::UserDeleted { .. } => {
            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
        EventPayload::GroupCreated {
            group, member_ids, ..
        } => {
            upsert_group(tx, tenant, id, group, version, at).await?;
            add_members(tx, tenant, id, member_ids).await
        }
        EventPayload::GroupUpdated {
            group,
            members_cleared,
            members_added,
            members_removed,
            ..
        } => {
            upsert_group(tx, tenant, id, group, version, at).await?;
            if *members_cleared {
                sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
                    .bind(tenant)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
            }
            if !members_removed.is_empty() {
                sqlx::query(
                    "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)",
                )
                .bind(tenant)
                .bind(id)
                .bind(members_removed)
                .execute(&mut **tx)
                .await?;
            }
            add_members(tx, tenant, id, members_added).await
        }
        EventPayload::GroupDeleted { .. } => {
            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
        EventPayload::LicenseAssigned(_)
        | EventPayload::LicenseReleased(_)
        | EventPayload::LicenseDenied(_)
        | EventPayload::RequestRejected(_) => Ok(()),
    }
}

async fn upsert_user(
    tx: &mut Transaction<'static, Postgres>,
    tenant: &str,
    id: &str,
    resource: &Value,
    version: i64,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let user_name = scim_model::user_name(resource).unwrap_or_default();
    let updated = sqlx::query(
        "INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, display_name, active,
                            resource, version, created, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
            user_name = EXCLUDED.user_name, user_name_lower = EXCLUDED.user_name_lower,
            external_id = EXCLUDED.external_id, display_name = EXCLUDED.display_name,
            active = EXCLUDED.active, resource = EXCLUDED.resource, version = EXCLUDED.version,
            last_modified = EXCLUDED.last_modified
         WHERE users.version < EXCLUDED.version",
    )
    .bind(tenant)
    .bind(id)
    .bind(user_name)
    .bind(scim_model::normalize_user_name(user_name))
    .bind(scim_model::external_id(resource))
    .bind(scim_model::display_name(resource))
    .bind(scim_model::is_active(resource))
    .bind(resource)
    .bind(version)
    .bind(created)
    .bind(last_modified)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(());
    }
    sqlx::query("DELETE FROM user_emails WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let emails = scim_model::email_values(resource);
    if !emails.is_empty() {
        let values: Vec<String> = emails
            .iter()
            .map(|(value, _, _)| value.to_lowercase())
            .collect();
        let types: Vec<Option<String>> = emails.iter().map(|(_, kind, _)| kind.clone()).collect();
        let primaries: Vec<bool> = emails.iter().map(|(_, _, primary)| *primary).collect();
        sqlx::query(
            "INSERT INTO user_emails (tenant_id, user_id, value_lower, type, is_primary)
             SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::bool[])",
        )
        .bind(tenant)
        .bind(id)
        .bind(values)
        .bind(types)
        .bind(primaries)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn upsert_group(
    tx: &mut Transaction<'static, Postgres>,
    tenant: &str,
    id: &str,
    group: &GroupState,
    version: i64,
    last_modified: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let display_name = scim_model::display_name(&group.resource).unwrap_or_default();
    sqlx::query(
        "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, external_id, resource, version,
                             created, last_modified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
            display_name = EXCLUDED.display_name, display_name_lower = EXCLUDED.display_name_lower,
            external_id = EXCLUDED.external_id, resource = EXCLUDED.resource, version = EXCLUDED.version,
            last_modified = EXCLUDED.last_modified
         WHERE groups.version < EXCLUDED.version",
    )
    .bind(tenant)
    .bind(id)
    .bind(display_name)
    .bind(display_name.to_lowercase())
    .bind(scim_model::external_id(&group.resource))
    .bind(&group.resource)
    .bind(version)
    .bind(group.created)
    .bind(last_modified)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn add_members(
    tx: &mut Transaction<'static, Postgres>,
    tenant: &str,
    group_id: &str,
    member_ids: &[String],
) -> Result<(), sqlx::Error> {
    if member_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO group_members (tenant_id, group_id, member_id)
         SELECT $1, $2, UNNEST($3::text[])
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(group_id)
    .bind(member_ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
