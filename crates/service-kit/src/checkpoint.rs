//! Projection checkpoints: the last stream sequence a projection committed,
//! in each service's table `checkpoint(name text primary key, last_sequence bigint)`.
//! The projection's changes and its checkpoint commit in one transaction (I5).

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

fn to_sequence(stored: Option<i64>) -> u64 {
    stored
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}

/// Starts a projection batch's transaction with asynchronous commit: the
/// commit returns without waiting for the WAL flush. That is safe here and
/// only here, because the batch and its checkpoint commit together and the
/// stream keeps every event: a crash that loses the last batches loses their
/// checkpoint too, and the projection re-applies them on start (I5). What is
/// briefly lost is visibility, never data. Writes that are not replayable
/// (tokens, operator decisions) keep synchronous commits.
pub async fn begin_batch(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The committed checkpoint, 0 when the projection never ran.
pub async fn read(pool: &PgPool, name: &str) -> Result<u64, sqlx::Error> {
    let stored = sqlx::query_scalar("SELECT last_sequence FROM checkpoint WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(to_sequence(stored))
}

/// Locks the checkpoint row for the rest of the transaction (creating it at
/// 0 if needed) and returns it, so a replica that wrongly believes it leads
/// waits here and then skips what the other already applied.
pub async fn lock(tx: &mut PgConnection, name: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO checkpoint (name, last_sequence) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    let stored =
        sqlx::query_scalar("SELECT last_sequence FROM checkpoint WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(to_sequence(stored))
}

/// Moves the checkpoint locked by [`lock`] to `sequence`.
pub async fn store(tx: &mut PgConnection, name: &str, sequence: u64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE checkpoint SET last_sequence = $2 WHERE name = $1")
        .bind(name)
        .bind(i64::try_from(sequence).unwrap_or(i64::MAX))
        .execute(tx)
        .await?;
    Ok(())
}
