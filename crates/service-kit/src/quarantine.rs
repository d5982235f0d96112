//! Quarantined events: the ones a projection could not apply for a reason of their own (text
//! the database cannot store, a bug in the projection). Each service keeps them in its own
//! `quarantine` table (same shape in every service, created by its migrations); recording one
//! moves the checkpoint past it in the same transaction, so the projection goes on with the
//! next event instead of stopping for every tenant (I11).
//!
//! An operator lists them and retries them (`scimctl quarantine`) once the cause is fixed; a
//! retry re-reads the event from the stream, applies it through the projection's own code and
//! removes it from the table in one transaction.

use chrono::{DateTime, Utc};
use event_store::StoredEvent;
use event_store::consumer::HandlerError;
use sqlx::{PgConnection, PgPool};

use crate::checkpoint;

/// One quarantined event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QuarantinedEvent {
    pub consumer: String,
    pub sequence: i64,
    pub subject: String,
    pub tenant_id: String,
    pub event_type: String,
    pub error: String,
    pub attempts: i32,
    pub quarantined_at: DateTime<Utc>,
}

/// Whether a database error belongs to the data rather than to the environment: the same
/// statement with the same data would fail again. SQLSTATE classes 22 (data exception, e.g.
/// `\u0000` in text), 23 (integrity constraint), 54 (program limit, e.g. a btree row too
/// large) and P0 (raised by a trigger or function); and values that could not be decoded.
pub fn is_permanent(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            ["22", "23", "54", "P0"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

/// A database error as a projection failure, classified by [`is_permanent`].
pub fn handler_error(error: &sqlx::Error) -> HandlerError {
    let message = match error {
        sqlx::Error::Database(database) => match database.code() {
            Some(code) => format!("{error} (SQLSTATE {code})"),
            None => error.to_string(),
        },
        _ => error.to_string(),
    };
    if is_permanent(error) {
        HandlerError::permanent(message)
    } else {
        HandlerError::transient(message)
    }
}

/// Records `event` as quarantined by the projection `consumer` (its checkpoint has the same
/// name) and moves that checkpoint past it, in one transaction: what every projection's
/// [`event_store::consumer::BatchHandler::quarantine`] does. Recording the same event again
/// counts another attempt.
pub async fn record(
    pool: &PgPool,
    consumer: &str,
    event: &StoredEvent,
    error: &HandlerError,
) -> Result<(), HandlerError> {
    let record = async {
        let mut tx = pool.begin().await?;
        let stored = checkpoint::lock(&mut tx, consumer).await?;
        insert(&mut tx, consumer, event, &error.message).await?;
        if event.sequence > stored {
            checkpoint::store(&mut tx, consumer, event.sequence).await?;
        }
        tx.commit().await
    };
    record
        .await
        .map_err(|error| handler_error(&error).context("recording a quarantined event"))
}

/// The projection's checkpoint, for [`event_store::consumer::BatchHandler::checkpoint`].
pub async fn checkpoint(pool: &PgPool, consumer: &str) -> Result<u64, HandlerError> {
    checkpoint::read(pool, consumer)
        .await
        .map_err(|error| handler_error(&error))
}

async fn insert(
    conn: &mut PgConnection,
    consumer: &str,
    event: &StoredEvent,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO quarantine (consumer, sequence, subject, tenant_id, event_type, error) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (consumer, sequence) DO UPDATE \
         SET error = EXCLUDED.error, attempts = quarantine.attempts + 1",
    )
    .bind(consumer)
    .bind(i64::try_from(event.sequence).unwrap_or(i64::MAX))
    .bind(&event.subject)
    .bind(&event.envelope.tenant_id)
    .bind(event.envelope.payload.type_name())
    .bind(storable(error))
    .execute(conn)
    .await?;
    Ok(())
}

/// The error text as the table can hold it (it may quote the very text that failed).
fn storable(error: &str) -> String {
    scim_model::limits::storable_prefix(error, 4096)
}

/// The quarantined events of `consumer`, oldest first.
pub async fn list(pool: &PgPool, consumer: &str) -> Result<Vec<QuarantinedEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT consumer, sequence, subject, tenant_id, event_type, error, attempts, quarantined_at \
         FROM quarantine WHERE consumer = $1 ORDER BY sequence",
    )
    .bind(consumer)
    .fetch_all(pool)
    .await
}

/// Whether `sequence` is quarantined by `consumer`.
pub async fn contains(pool: &PgPool, consumer: &str, sequence: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM quarantine WHERE consumer = $1 AND sequence = $2)",
    )
    .bind(consumer)
    .bind(i64::try_from(sequence).unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await
}

/// Applies a quarantined event again, through the projection's own code.
pub trait Reapply: Send + Sync {
    /// Applies `event` on `conn` (inside the retry's transaction), without moving the
    /// checkpoint: the projection is already past it.
    fn reapply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> impl std::future::Future<Output = Result<(), HandlerError>> + Send;
}

/// What a retry came to.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryOutcome {
    Applied,
    /// Still failing; the error is recorded with one more attempt.
    StillFailing(String),
    NotQuarantined,
}

/// Retries one quarantined event: applies it and removes it from the table in one
/// transaction, or records the new error.
pub async fn retry(
    pool: &PgPool,
    consumer: &str,
    event: &StoredEvent,
    projection: &impl Reapply,
) -> Result<RetryOutcome, sqlx::Error> {
    if !contains(pool, consumer, event.sequence).await? {
        return Ok(RetryOutcome::NotQuarantined);
    }
    let mut tx = pool.begin().await?;
    let failure = match projection.reapply(&mut tx, event).await {
        Ok(()) => {
            sqlx::query("DELETE FROM quarantine WHERE consumer = $1 AND sequence = $2")
                .bind(consumer)
                .bind(i64::try_from(event.sequence).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RetryOutcome::Applied);
        }
        Err(error) => error,
    };
    drop(tx);
    let mut conn = pool.acquire().await?;
    insert(&mut conn, consumer, event, &failure.message).await?;
    Ok(RetryOutcome::StillFailing(failure.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_retried_an_event_is_quarantined() {
        let unreachable =
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(handler_error(&unreachable).transient);
        assert!(handler_error(&sqlx::Error::PoolTimedOut).transient);
        assert!(handler_error(&sqlx::Error::PoolClosed).transient);
        let undecodable = sqlx::Error::Decode("not a number".into());
        assert!(!handler_error(&undecodable).transient);
    }

    #[test]
    fn storable_errors_lose_nul_and_length() {
        assert_eq!(storable("a\0b"), "a\u{fffd}b");
        assert_eq!(storable(&"x".repeat(10_000)).len(), 4096);
    }
}
