//! The whole-stream consumer that writes the audit log.

use std::collections::{HashMap, HashSet};

use event_store::StoredEvent;
use event_store::consumer::{BatchHandler, HandlerError};
use prometheus_client::metrics::counter::Counter;
use service_kit::{checkpoint, quarantine};
use sqlx::{PgConnection, PgPool};

use uuid::Uuid;

use crate::chain::{GENESIS, Hash};
use crate::error::ServiceError;
use crate::record::AuditRow;

pub struct AuditProjection {
    db: PgPool,
    checkpoint_name: String,
    rows_written: Counter,
    /// Whether `audit_chain_origin` is known to be written, so that only the first batch
    /// after a start pays for the statement.
    chain_origin_recorded: bool,
}

impl AuditProjection {
    /// `checkpoint_name` is the durable consumer's name, so one database
    /// never mixes the positions of two namespaces.
    pub fn new(db: PgPool, checkpoint_name: String, rows_written: Counter) -> Self {
        Self {
            db,
            checkpoint_name,
            rows_written,
            chain_origin_recorded: false,
        }
    }

    async fn apply_batch(&mut self, batch: Vec<StoredEvent>) -> Result<u64, ServiceError> {
        let mut tx = checkpoint::begin_batch(&self.db).await?;
        // Serialises with any other consumer on this database, and with a quarantine retry
        // (every writer of the log holds this lock: the chains are extended by one writer at
        // a time), and skips what it already recorded.
        let stored = checkpoint::lock(&mut tx, &self.checkpoint_name).await?;
        let stored = i64::try_from(stored).unwrap_or(i64::MAX);
        let mut rows = Vec::with_capacity(batch.len());
        for event in &batch {
            let row = AuditRow::from_event(event)?;
            if row.sequence > stored {
                rows.push(row);
            }
        }
        let Some(last) = rows.last().map(|row| row.sequence) else {
            return Ok(0);
        };
        let appended = append_rows(&mut tx, rows).await?;
        if let (false, Some(first)) = (self.chain_origin_recorded, appended.first_sequence) {
            record_chain_origin(&mut tx, first).await?;
        }
        checkpoint::store(
            &mut tx,
            &self.checkpoint_name,
            u64::try_from(last).unwrap_or(0),
        )
        .await?;
        tx.commit().await?;
        if appended.first_sequence.is_some() {
            self.chain_origin_recorded = true;
        }
        Ok(appended.rows)
    }
}

impl BatchHandler for AuditProjection {
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
        let written = self.apply_batch(batch).await.map_err(HandlerError::from)?;
        self.rows_written.inc_by(written);
        Ok(())
    }
}

/// Records a quarantined event again (`scimctl quarantine retry`), as the live projection
/// would have: appended to its tenant's chain now, under the projection's checkpoint lock
/// (named `checkpoint_name`) so that the two never extend a chain at the same time.
pub struct AuditReapply {
    pub checkpoint_name: String,
}

impl quarantine::Reapply for AuditReapply {
    async fn reapply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), HandlerError> {
        let row = AuditRow::from_event(event)
            .map_err(|error| HandlerError::from(ServiceError::from(error)))?;
        let db_error = |error: sqlx::Error| quarantine::handler_error(&error);
        checkpoint::lock(conn, &self.checkpoint_name)
            .await
            .map_err(db_error)?;
        append_rows(conn, vec![row]).await.map_err(db_error)?;
        Ok(())
    }
}

/// Gives license rows the userName of the user's latest earlier event: from
/// this batch when it is there, else from the log. Only rows before the
/// license row count, so a replay names it exactly as the first pass did.
/// The log is asked once for the whole batch, for each user no earlier row of
/// the batch names (at that user's first license row).
async fn name_license_targets(
    conn: &mut PgConnection,
    rows: &mut [AuditRow],
) -> Result<(), sqlx::Error> {
    let mut named_in_batch: HashSet<(String, String)> = HashSet::new();
    let mut asked: HashSet<(String, String)> = HashSet::new();
    let mut wanted: Vec<((String, String), i64)> = Vec::new();
    for row in rows.iter() {
        if let Some((key, _)) = row.user_key() {
            named_in_batch.insert(key);
        } else if row.needs_user_name()
            && let Some(user_id) = row.target_id.clone()
        {
            let key = (row.tenant_id.clone(), user_id);
            if !named_in_batch.contains(&key) && asked.insert(key.clone()) {
                wanted.push((key, row.sequence));
            }
        }
    }
    let mut from_log = logged_user_names(conn, &wanted).await?;
    let mut known: HashMap<(String, String), String> = HashMap::new();
    for row in rows.iter_mut() {
        if let Some((key, name)) = row.user_key() {
            known.insert(key, name);
            continue;
        }
        if !row.needs_user_name() {
            continue;
        }
        let Some(user_id) = row.target_id.clone() else {
            continue;
        };
        let key = (row.tenant_id.clone(), user_id);
        if let Some(name) = known.get(&key) {
            row.target_name = Some(name.clone());
        } else if let Some(name) = from_log.remove(&key) {
            row.target_name = Some(name.clone());
            known.insert(key, name);
        }
    }
    Ok(())
}

/// For each (tenant, user) and sequence: the userName of the user's latest
/// logged event before that sequence, where there is one.
async fn logged_user_names(
    conn: &mut PgConnection,
    wanted: &[((String, String), i64)],
) -> Result<HashMap<(String, String), String>, sqlx::Error> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let tenants: Vec<&str> = wanted
        .iter()
        .map(|((tenant, _), _)| tenant.as_str())
        .collect();
    let users: Vec<&str> = wanted.iter().map(|((_, user), _)| user.as_str()).collect();
    let before: Vec<i64> = wanted.iter().map(|(_, sequence)| *sequence).collect();
    let found: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT wanted.tenant_id, wanted.target_id, latest.target_name \
         FROM UNNEST($1::text[], $2::text[], $3::int8[]) AS wanted(tenant_id, target_id, before) \
         CROSS JOIN LATERAL ( \
             SELECT target_name FROM audit_log \
             WHERE tenant_id = wanted.tenant_id AND target_id = wanted.target_id \
               AND resource_type = 'User' AND target_name IS NOT NULL \
               AND sequence < wanted.before \
             ORDER BY sequence DESC LIMIT 1) AS latest",
    )
    .bind(&tenants)
    .bind(&users)
    .bind(&before)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .map(|(tenant, user, name)| ((tenant, user), name))
        .collect())
}

/// What [`append_rows`] wrote.
struct Appended {
    rows: u64,
    /// The stream sequence of the first row written, if any.
    first_sequence: Option<i64>,
}

/// Appends `rows` (in stream order) to the log and to their tenants' chains. Rows already
/// recorded, by sequence (a replay after the checkpoint was reset) or by event id (a decision
/// the license service republished), are left out before linking, so a redelivered event
/// never takes a chain position. The caller holds the checkpoint lock.
async fn append_rows(
    conn: &mut PgConnection,
    rows: Vec<AuditRow>,
) -> Result<Appended, sqlx::Error> {
    let mut rows = without_recorded(conn, rows).await?;
    if rows.is_empty() {
        return Ok(Appended {
            rows: 0,
            first_sequence: None,
        });
    }
    name_license_targets(conn, &mut rows).await?;
    let links = link(conn, &rows).await?;
    let written = insert_rows(conn, &rows, &links).await?;
    Ok(Appended {
        rows: written,
        first_sequence: rows.first().map(|row| row.sequence),
    })
}

async fn without_recorded(
    conn: &mut PgConnection,
    rows: Vec<AuditRow>,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sequences: Vec<i64> = rows.iter().map(|row| row.sequence).collect();
    let event_ids: Vec<Uuid> = rows.iter().map(|row| row.event_id).collect();
    // Two index lookups, and planned for each batch (not prepared): a plan cached while the
    // log was small scans the whole log once it has grown, up to 390 ms per batch at 290,000
    // rows, until the next ANALYZE (docs/performance.md).
    let recorded: Vec<(i64, Uuid)> = sqlx::query_as(
        "SELECT sequence, event_id FROM audit_log WHERE sequence = ANY($1) \
         UNION ALL \
         SELECT sequence, event_id FROM audit_log WHERE event_id = ANY($2)",
    )
    .persistent(false)
    .bind(&sequences)
    .bind(&event_ids)
    .fetch_all(&mut *conn)
    .await?;
    let recorded_sequences: HashSet<i64> = recorded.iter().map(|(sequence, _)| *sequence).collect();
    // Also the ids seen earlier in this batch: a republished event twice in one batch.
    let mut seen_ids: HashSet<Uuid> = recorded.into_iter().map(|(_, id)| id).collect();
    Ok(rows
        .into_iter()
        .filter(|row| !recorded_sequences.contains(&row.sequence) && seen_ids.insert(row.event_id))
        .collect())
}

/// A row's place in its tenant's chain.
struct Link {
    chain_position: i64,
    record_hash: Hash,
}

/// Links `rows` (in stream order) onto the heads of their tenants' chains: rows of one tenant
/// in one batch follow each other.
async fn link(conn: &mut PgConnection, rows: &[AuditRow]) -> Result<Vec<Link>, sqlx::Error> {
    let tenants: Vec<String> = rows
        .iter()
        .map(|row| row.tenant_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let stored_heads: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT tenants.tenant_id, head.chain_position, head.record_hash \
         FROM unnest($1::text[]) AS tenants (tenant_id) \
         CROSS JOIN LATERAL ( \
             SELECT chain_position, record_hash FROM audit_log \
             WHERE tenant_id = tenants.tenant_id AND chain_position IS NOT NULL \
             ORDER BY chain_position DESC LIMIT 1 \
         ) AS head",
    )
    .bind(&tenants)
    .fetch_all(&mut *conn)
    .await?;
    // The head's hash as stored: were it tampered with, the chain still grows (the log must
    // not stop recording) and verify reports the break at the tampered row.
    let mut heads: HashMap<String, (i64, Vec<u8>)> = stored_heads
        .into_iter()
        .map(|(tenant, position, hash)| (tenant, (position, hash)))
        .collect();
    let mut links = Vec::with_capacity(rows.len());
    for row in rows {
        let (previous_position, previous_hash) = heads
            .remove(&row.tenant_id)
            .unwrap_or_else(|| (0, GENESIS.to_vec()));
        let chain_position = previous_position + 1;
        let record_hash = row.chained(chain_position).hash(&previous_hash);
        heads.insert(
            row.tenant_id.clone(),
            (chain_position, record_hash.to_vec()),
        );
        links.push(Link {
            chain_position,
            record_hash,
        });
    }
    Ok(links)
}

/// Remembers where the chain began (see the migration that made it): written once, by the
/// first batch the projection chained.
async fn record_chain_origin(conn: &mut PgConnection, first: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_chain_origin (first_chained_sequence) VALUES ($1) \
         ON CONFLICT (singleton) DO NOTHING",
    )
    .bind(first)
    .execute(conn)
    .await?;
    Ok(())
}

/// One insert for the whole batch, its columns bound as arrays: the statement text is the
/// same for every batch size, so each connection prepares it once (a `VALUES` list per size
/// made one statement per batch size, more than the statement cache holds). No
/// `ON CONFLICT`: [`without_recorded`] left out what is already there, and a row that
/// conflicted anyway would leave a gap in its chain, so it fails the batch instead.
async fn insert_rows(
    conn: &mut PgConnection,
    rows: &[AuditRow],
    links: &[Link],
) -> Result<u64, sqlx::Error> {
    fn column<'a, T>(rows: &'a [AuditRow], field: impl Fn(&'a AuditRow) -> T) -> Vec<T> {
        rows.iter().map(field).collect()
    }
    let inserted = sqlx::query(
        "INSERT INTO audit_log (sequence, event_id, tenant_id, occurred_at, operation, outcome, \
         resource_type, target_id, target_name, actor_config_id, actor_token_id, actor_admin, \
         correlation_id, status, detail, event, chain_position, record_hash) \
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
         $13::text[], $14::integer[], $15::text[], $16::jsonb[], $17::bigint[], $18::bytea[])",
    )
    .bind(column(rows, |row| row.sequence))
    .bind(column(rows, |row| row.event_id))
    .bind(column(rows, |row| row.tenant_id.as_str()))
    .bind(column(rows, |row| row.occurred_at))
    .bind(column(rows, |row| row.operation))
    .bind(column(rows, |row| row.outcome))
    .bind(column(rows, |row| row.resource_type.as_deref()))
    .bind(column(rows, |row| row.target_id.as_deref()))
    .bind(column(rows, |row| row.target_name.as_deref()))
    .bind(column(rows, |row| row.actor_config_id.as_deref()))
    .bind(column(rows, |row| row.actor_token_id.as_deref()))
    .bind(column(rows, |row| row.actor_admin.as_deref()))
    .bind(column(rows, |row| row.correlation_id.as_str()))
    .bind(column(rows, |row| row.status))
    .bind(column(rows, |row| row.detail.as_deref()))
    .bind(column(rows, |row| sqlx::types::Json(&row.event)))
    .bind(
        links
            .iter()
            .map(|link| link.chain_position)
            .collect::<Vec<_>>(),
    )
    .bind(
        links
            .iter()
            .map(|link| link.record_hash.to_vec())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected())
}
