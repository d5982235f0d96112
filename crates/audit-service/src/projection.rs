//! The whole-stream consumer that writes the audit log.

use std::collections::HashMap;

use event_store::StoredEvent;
use event_store::consumer::{BatchHandler, HandlerError};
use prometheus_client::metrics::counter::Counter;
use service_kit::{checkpoint, quarantine};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::error::ServiceError;
use crate::record::AuditRow;

pub struct AuditProjection {
    db: PgPool,
    checkpoint_name: String,
    rows_written: Counter,
}

impl AuditProjection {
    /// `checkpoint_name` is the durable consumer's name, so one database
    /// never mixes the positions of two namespaces.
    pub fn new(db: PgPool, checkpoint_name: String, rows_written: Counter) -> Self {
        Self {
            db,
            checkpoint_name,
            rows_written,
        }
    }

    async fn apply_batch(&self, batch: Vec<StoredEvent>) -> Result<u64, ServiceError> {
        let mut tx = checkpoint::begin_batch(&self.db).await?;
        // Serialises with any other consumer on this database and skips what
        // it already recorded; the primary key would reject a duplicate
        // anyway, this just avoids the work.
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
        name_license_targets(&mut tx, &mut rows).await?;
        let written = insert_rows(&mut tx, &rows).await?;
        checkpoint::store(
            &mut tx,
            &self.checkpoint_name,
            u64::try_from(last).unwrap_or(0),
        )
        .await?;
        tx.commit().await?;
        Ok(written)
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
/// would have.
pub struct AuditReapply;

impl quarantine::Reapply for AuditReapply {
    async fn reapply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), HandlerError> {
        let mut rows = vec![
            AuditRow::from_event(event)
                .map_err(|error| HandlerError::from(ServiceError::from(error)))?,
        ];
        let db_error = |error: sqlx::Error| quarantine::handler_error(&error);
        name_license_targets(conn, &mut rows)
            .await
            .map_err(db_error)?;
        insert_rows(conn, &rows).await.map_err(db_error)?;
        Ok(())
    }
}

/// Gives license rows the userName of the user's latest earlier event: from
/// this batch when it is there, else from the log. Only rows before the
/// license row count, so a replay names it exactly as the first pass did.
async fn name_license_targets(
    conn: &mut PgConnection,
    rows: &mut [AuditRow],
) -> Result<(), sqlx::Error> {
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
            continue;
        }
        let name: Option<String> = sqlx::query_scalar(
            "SELECT target_name FROM audit_log \
             WHERE tenant_id = $1 AND target_id = $2 AND resource_type = 'User' \
               AND target_name IS NOT NULL AND sequence < $3 \
             ORDER BY sequence DESC LIMIT 1",
        )
        .bind(&key.0)
        .bind(&key.1)
        .bind(row.sequence)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(name) = name {
            row.target_name = Some(name.clone());
            known.insert(key, name);
        }
    }
    Ok(())
}

/// One multi-row insert for the whole batch. `ON CONFLICT DO NOTHING` covers
/// both keys: the sequence (a replay) and the event id (a decision the
/// license service republished after its database was rebuilt).
async fn insert_rows(conn: &mut PgConnection, rows: &[AuditRow]) -> Result<u64, sqlx::Error> {
    let mut insert = QueryBuilder::<Postgres>::new(
        "INSERT INTO audit_log (sequence, event_id, tenant_id, occurred_at, operation, outcome, resource_type, \
         target_id, target_name, actor_config_id, actor_token_id, actor_admin, correlation_id, status, detail, event) ",
    );
    insert.push_values(rows, |mut values, row| {
        values
            .push_bind(row.sequence)
            .push_bind(row.event_id)
            .push_bind(row.tenant_id.clone())
            .push_bind(row.occurred_at)
            .push_bind(row.operation)
            .push_bind(row.outcome)
            .push_bind(row.resource_type.clone())
            .push_bind(row.target_id.clone())
            .push_bind(row.target_name.clone())
            .push_bind(row.actor_config_id.clone())
            .push_bind(row.actor_token_id.clone())
            .push_bind(row.actor_admin.clone())
            .push_bind(row.correlation_id.clone())
            .push_bind(row.status)
            .push_bind(row.detail.clone())
            .push_bind(sqlx::types::Json(row.event.clone()));
    });
    insert.push(" ON CONFLICT DO NOTHING");
    Ok(insert.build().execute(conn).await?.rows_affected())
}
