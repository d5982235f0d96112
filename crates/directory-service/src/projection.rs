//! Projects user and group events into the read model.
//!
//! A batch and the checkpoint commit in one transaction; events at or below
//! the checkpoint are never handed to us, and every row write is additionally
//! guarded by its version, so replays and redeliveries change nothing (I5).

use chrono::{DateTime, Utc};
use event_store::StoredEvent;
use event_store::consumer::{BatchHandler, HandlerError};
use scim_events::{EventPayload, GroupMember, GroupState, Namespace};
use serde_json::Value;
use service_kit::{checkpoint, quarantine};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;

/// The checkpoint is named after the event namespace, like the durable
/// consumer: a database that once followed another namespace's stream must
/// not skip this stream's events up to that stream's sequence.
pub fn checkpoint_name(namespace: &Namespace) -> String {
    namespace.consumer_name("directory")
}

pub struct DirectoryProjection {
    pool: PgPool,
    applied: watch::Sender<Applied>,
    checkpoint_name: String,
}

/// How far the projection got, as the read API needs to know it: the checkpoint, and the
/// highest quarantined sequence, so that a wait for any later sequence needs no lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub sequence: u64,
    pub highest_quarantined: u64,
    /// This replica runs the projection: the watch moves with every batch, and a wait
    /// needs no look at the database.
    pub leading: bool,
}

impl Applied {
    /// From the database (one round trip): what a replica that does not run the projection
    /// knows.
    pub async fn read(pool: &PgPool, checkpoint_name: &str) -> Result<Self, sqlx::Error> {
        let (sequence, highest): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT last_sequence FROM checkpoint WHERE name = $1), \
                    (SELECT max(sequence) FROM quarantine WHERE consumer = $1)",
        )
        .bind(checkpoint_name)
        .fetch_one(pool)
        .await?;
        let to_u64 = |value: Option<i64>| value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        Ok(Self {
            sequence: to_u64(sequence),
            highest_quarantined: to_u64(highest),
            leading: false,
        })
    }
}

impl DirectoryProjection {
    pub fn new(pool: PgPool, applied: watch::Sender<Applied>, checkpoint_name: String) -> Self {
        Self {
            pool,
            applied,
            checkpoint_name,
        }
    }

    fn advance(&self, sequence: u64, quarantined: bool) {
        self.applied.send_if_modified(|current| {
            let before = *current;
            // The runner asks for the checkpoint only once it holds the leader lock.
            current.leading = true;
            current.sequence = current.sequence.max(sequence);
            if quarantined {
                current.highest_quarantined = current.highest_quarantined.max(sequence);
            }
            *current != before
        });
    }
}

/// Applies a quarantined event again (`scimctl quarantine retry`): the same code as the live
/// projection, version-guarded like it, so an event retried after newer ones of its resource
/// never overwrites their state.
pub struct DirectoryReapply;

impl quarantine::Reapply for DirectoryReapply {
    async fn reapply(
        &self,
        conn: &mut sqlx::PgConnection,
        event: &StoredEvent,
    ) -> Result<(), HandlerError> {
        apply_event(conn, event)
            .await
            .map_err(|error| quarantine::handler_error(&error))
    }
}

impl BatchHandler for DirectoryProjection {
    async fn checkpoint(&mut self) -> Result<u64, HandlerError> {
        let sequence = quarantine::checkpoint(&self.pool, &self.checkpoint_name).await?;
        self.advance(sequence, false);
        Ok(sequence)
    }

    async fn quarantine(
        &mut self,
        event: &StoredEvent,
        error: &HandlerError,
    ) -> Result<(), HandlerError> {
        quarantine::record(&self.pool, &self.checkpoint_name, event, error).await?;
        self.advance(event.sequence, true);
        Ok(())
    }

    async fn apply(&mut self, batch: Vec<StoredEvent>) -> Result<(), HandlerError> {
        let Some(last) = batch.last().map(|event| event.sequence) else {
            return Ok(());
        };
        let db_error = |error: sqlx::Error| quarantine::handler_error(&error);
        let mut tx = checkpoint::begin_batch(&self.pool)
            .await
            .map_err(db_error)?;
        let stored = checkpoint::lock(&mut tx, &self.checkpoint_name)
            .await
            .map_err(db_error)?;
        // Consecutive user upserts are written together (three statements
        // for the run instead of three per event): during an IdP's initial
        // sync nearly every event is one, and this projection is on the
        // read-your-writes path of every write. Anything else flushes the
        // run first, so the effect is the same as applying in stream order.
        let mut users = UserUpserts::default();
        for event in batch.iter().filter(|event| event.sequence > stored) {
            if users.absorb(event) {
                continue;
            }
            users
                .flush(&mut tx)
                .await
                .map_err(|error| db_error(error).context("user upserts"))?;
            apply_event(&mut tx, event).await.map_err(|error| {
                db_error(error).context(format!(
                    "event {} ({})",
                    event.sequence,
                    event.envelope.payload.type_name()
                ))
            })?;
        }
        users
            .flush(&mut tx)
            .await
            .map_err(|error| db_error(error).context("user upserts"))?;
        if last > stored {
            checkpoint::store(&mut tx, &self.checkpoint_name, last)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.advance(last, false);
        Ok(())
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn apply_event(tx: &mut PgConnection, event: &StoredEvent) -> Result<(), sqlx::Error> {
    let envelope = &event.envelope;
    let tenant = envelope.tenant_id.as_str();
    let id = envelope.aggregate_id.as_str();
    let version = to_i64(event.sequence);
    let at = envelope.occurred_at;
    match &envelope.payload {
        EventPayload::UserCreated { .. } | EventPayload::UserUpdated { .. } => {
            let mut users = UserUpserts::default();
            users.absorb(event);
            users.flush(tx).await
        }
        EventPayload::UserDeleted { .. } => {
            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // No foreign key cascades: the projection removes the emails it wrote.
            sqlx::query("DELETE FROM user_emails WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Ok(())
        }
        EventPayload::GroupCreated { group, members, .. } => {
            upsert_group(tx, tenant, id, group, version, at).await?;
            add_members(tx, tenant, id, members).await
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
                    .execute(&mut *tx)
                    .await?;
            }
            remove_members(tx, tenant, id, members_removed).await?;
            add_members(tx, tenant, id, members_added).await
        }
        EventPayload::GroupDeleted { .. } => {
            sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Ok(())
        }
        EventPayload::LicenseAssigned(_)
        | EventPayload::LicenseReleased(_)
        | EventPayload::LicenseDenied(_)
        | EventPayload::RequestRejected(_)
        | EventPayload::EventQuarantined(_)
        | EventPayload::AdminActionTaken(_) => Ok(()),
    }
}

/// A run of user creations and updates, keyed by user: the last event of a
/// user in the run is the one that counts (its resource is the full state).
#[derive(Default)]
struct UserUpserts {
    rows: Vec<UserRow>,
    index: std::collections::HashMap<(String, String), usize>,
}

struct UserRow {
    tenant: String,
    id: String,
    resource: Value,
    version: i64,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
}

impl UserUpserts {
    /// Takes the event if it is a user upsert (or changes nothing here).
    fn absorb(&mut self, event: &StoredEvent) -> bool {
        let envelope = &event.envelope;
        let at = envelope.occurred_at;
        let (resource, created) = match &envelope.payload {
            EventPayload::UserCreated { resource } => (resource, at),
            EventPayload::UserUpdated {
                resource, created, ..
            } => (resource, *created),
            // Events this projection ignores do not break a run.
            EventPayload::LicenseAssigned(_)
            | EventPayload::LicenseReleased(_)
            | EventPayload::LicenseDenied(_)
            | EventPayload::RequestRejected(_)
            | EventPayload::EventQuarantined(_)
            | EventPayload::AdminActionTaken(_) => return true,
            _ => return false,
        };
        let row = UserRow {
            tenant: envelope.tenant_id.clone(),
            id: envelope.aggregate_id.clone(),
            resource: resource.clone(),
            version: to_i64(event.sequence),
            created,
            last_modified: at,
        };
        match self.index.get(&(row.tenant.clone(), row.id.clone())) {
            Some(&position) => self.rows[position] = row,
            None => {
                self.index
                    .insert((row.tenant.clone(), row.id.clone()), self.rows.len());
                self.rows.push(row);
            }
        }
        true
    }

    async fn flush(&mut self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.index.clear();
        let mut columns = UserColumns::with_capacity(rows.len());
        for row in &rows {
            columns.push(row);
        }
        // The version guard makes replays and redeliveries no-ops; RETURNING names the users
        // actually written, and whether their emails differ from what was stored before (every
        // part of one statement sees the rows as they were before it): only those users' email
        // rows are replaced. Most updates (a manager, a title, `active`) leave emails alone.
        let written: Vec<(String, String, bool, bool)> = sqlx::query_as(
            "WITH incoming AS (
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::bool[], $8::jsonb[], $9::bigint[], $10::timestamptz[], $11::timestamptz[])
                     AS t(tenant_id, id, user_name, user_name_lower, external_id, display_name, active,
                          resource, version, created, last_modified)
             ),
             previous AS (
                 SELECT u.tenant_id, u.id, u.resource -> 'emails' AS emails
                 FROM users u JOIN incoming i ON u.tenant_id = i.tenant_id AND u.id = i.id
             ),
             written AS (
                 INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, display_name, active,
                                    resource, version, created, last_modified)
                 SELECT * FROM incoming
                 ON CONFLICT (tenant_id, id) DO UPDATE SET
                    user_name = EXCLUDED.user_name, user_name_lower = EXCLUDED.user_name_lower,
                    external_id = EXCLUDED.external_id, display_name = EXCLUDED.display_name,
                    active = EXCLUDED.active, resource = EXCLUDED.resource, version = EXCLUDED.version,
                    last_modified = EXCLUDED.last_modified
                 WHERE users.version < EXCLUDED.version
                 RETURNING tenant_id, id, resource -> 'emails' AS emails
             )
             SELECT w.tenant_id, w.id, p.id IS NOT NULL AS existed,
                    p.emails IS DISTINCT FROM w.emails AS emails_changed
             FROM written w LEFT JOIN previous p ON p.tenant_id = w.tenant_id AND p.id = w.id",
        )
        .bind(&columns.tenants)
        .bind(&columns.ids)
        .bind(&columns.user_names)
        .bind(&columns.user_names_lower)
        .bind(&columns.external_ids)
        .bind(&columns.display_names)
        .bind(&columns.actives)
        .bind(&columns.resources)
        .bind(&columns.versions)
        .bind(&columns.created)
        .bind(&columns.last_modified)
        .fetch_all(&mut *tx)
        .await?;
        // Users whose email rows are replaced; of those, the ones that had rows to delete.
        let mut replaced = std::collections::HashSet::new();
        let (mut tenants, mut ids) = (Vec::new(), Vec::new());
        for (tenant, id, existed, emails_changed) in written {
            if !emails_changed {
                continue;
            }
            if existed {
                tenants.push(tenant.clone());
                ids.push(id.clone());
            }
            replaced.insert((tenant, id));
        }
        if replaced.is_empty() {
            return Ok(());
        }
        if !ids.is_empty() {
            sqlx::query(
                "DELETE FROM user_emails e USING UNNEST($1::text[], $2::text[]) AS w(tenant_id, user_id)
                 WHERE e.tenant_id = w.tenant_id AND e.user_id = w.user_id",
            )
            .bind(&tenants)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        }
        let mut emails = EmailColumns::default();
        for row in rows
            .iter()
            .filter(|row| replaced.contains(&(row.tenant.clone(), row.id.clone())))
        {
            for (value, kind, primary) in scim_model::email_values(&row.resource) {
                emails.tenants.push(row.tenant.clone());
                emails.user_ids.push(row.id.clone());
                emails.values.push(value.to_lowercase());
                emails.types.push(kind);
                emails.primaries.push(primary);
            }
        }
        if !emails.values.is_empty() {
            sqlx::query(
                "INSERT INTO user_emails (tenant_id, user_id, value_lower, type, is_primary)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[])",
            )
            .bind(&emails.tenants)
            .bind(&emails.user_ids)
            .bind(&emails.values)
            .bind(&emails.types)
            .bind(&emails.primaries)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// `UserRow`s as one array per column, for `UNNEST`.
#[derive(Default)]
struct UserColumns {
    tenants: Vec<String>,
    ids: Vec<String>,
    user_names: Vec<String>,
    user_names_lower: Vec<String>,
    external_ids: Vec<Option<String>>,
    display_names: Vec<Option<String>>,
    actives: Vec<bool>,
    resources: Vec<Value>,
    versions: Vec<i64>,
    created: Vec<DateTime<Utc>>,
    last_modified: Vec<DateTime<Utc>>,
}

impl UserColumns {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            tenants: Vec::with_capacity(capacity),
            ids: Vec::with_capacity(capacity),
            user_names: Vec::with_capacity(capacity),
            user_names_lower: Vec::with_capacity(capacity),
            external_ids: Vec::with_capacity(capacity),
            display_names: Vec::with_capacity(capacity),
            actives: Vec::with_capacity(capacity),
            resources: Vec::with_capacity(capacity),
            versions: Vec::with_capacity(capacity),
            created: Vec::with_capacity(capacity),
            last_modified: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, row: &UserRow) {
        let user_name = scim_model::user_name(&row.resource).unwrap_or_default();
        self.tenants.push(row.tenant.clone());
        self.ids.push(row.id.clone());
        self.user_names.push(user_name.to_owned());
        self.user_names_lower
            .push(scim_model::normalize_user_name(user_name));
        self.external_ids
            .push(scim_model::external_id(&row.resource).map(str::to_owned));
        self.display_names
            .push(scim_model::display_name(&row.resource).map(str::to_owned));
        self.actives.push(scim_model::is_active(&row.resource));
        self.resources.push(row.resource.clone());
        self.versions.push(row.version);
        self.created.push(row.created);
        self.last_modified.push(row.last_modified);
    }
}

#[derive(Default)]
struct EmailColumns {
    tenants: Vec<String>,
    user_ids: Vec<String>,
    values: Vec<String>,
    types: Vec<Option<String>>,
    primaries: Vec<bool>,
}

async fn upsert_group(
    tx: &mut PgConnection,
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
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Removes a delta of members. A handful (the usual IdP PATCH) are deleted
/// one primary-key lookup each: that plan cannot go wrong. Given a list
/// instead, the planner judges by the group's size in its statistics, which
/// lag behind a group that just grew to 100,000 members; it then scans the
/// whole group for every removal (I9).
async fn remove_members(
    tx: &mut PgConnection,
    tenant: &str,
    group_id: &str,
    members: &[String],
) -> Result<(), sqlx::Error> {
    const ONE_BY_ONE: usize = 100;
    if members.len() <= ONE_BY_ONE {
        for member in members {
            sqlx::query(
                "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = $3",
            )
            .bind(tenant)
            .bind(group_id)
            .bind(member)
            .execute(&mut *tx)
            .await?;
        }
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)",
    )
    .persistent(false)
    .bind(tenant)
    .bind(group_id)
    .bind(members)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds a delta of members. Adding a member again with a `display` gives it that name; adding
/// it again without one keeps the name it has.
async fn add_members(
    tx: &mut PgConnection,
    tenant: &str,
    group_id: &str,
    members: &[GroupMember],
) -> Result<(), sqlx::Error> {
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = members.iter().map(|member| member.id.as_str()).collect();
    let displays: Vec<Option<&str>> = members
        .iter()
        .map(|member| member.display.as_deref())
        .collect();
    sqlx::query(
        "INSERT INTO group_members (tenant_id, group_id, member_id, display)
         SELECT $1, $2, member.id, member.display
         FROM UNNEST($3::text[], $4::text[]) AS member (id, display)
         ON CONFLICT (tenant_id, group_id, member_id) DO UPDATE SET display = EXCLUDED.display
         WHERE EXCLUDED.display IS NOT NULL
           AND group_members.display IS DISTINCT FROM EXCLUDED.display",
    )
    .bind(tenant)
    .bind(group_id)
    .bind(ids)
    .bind(displays)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    #[test]
    fn checkpoints_of_different_namespaces_never_collide() {
        let a = Namespace::new("scim").map(|ns| checkpoint_name(&ns));
        let b = Namespace::new("bench").map(|ns| checkpoint_name(&ns));
        assert!(a.is_ok() && b.is_ok());
        assert_ne!(a.ok(), b.ok());
    }
}
