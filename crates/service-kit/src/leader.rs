//! Single active consumer per projection across replicas.
//!
//! Projections apply events strictly in stream order (first come, first served
//! for licenses depends on it), so only one replica consumes at a time. The
//! others wait on a Postgres advisory lock and take over when the holder's
//! session ends.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio_util::sync::CancellationToken;

/// Holds the advisory lock for as long as it lives (the lock belongs to the
/// session of this dedicated connection).
///
/// The lock must end with the leadership, not with the pool: a connection
/// returned to the pool keeps its session, and with it the lock, until the
/// pool closes at the very end of a drain, while the standby waits and the
/// draining replica's own `AwaitApplied` calls wait for a projection that has
/// stopped. So the connection is closed, never returned.
pub struct Leadership {
    connection: Option<PoolConnection<Postgres>>,
}

impl Leadership {
    /// Ends the session holding the lock, so a standby can take over at once.
    pub async fn release(mut self) {
        if let Some(connection) = self.connection.take()
            && let Err(error) = connection.close().await
        {
            tracing::debug!(%error, "closing the leader connection");
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Without `release` (an error path): dropping the detached connection closes its
        // socket, which ends the session and the lock.
        if let Some(connection) = self.connection.take() {
            drop(connection.detach());
        }
    }
}

/// Waits until this process holds the lock `key`, or returns `None` on shutdown.
pub async fn acquire(
    pool: &PgPool,
    key: i64,
    shutdown: &CancellationToken,
) -> Result<Option<Leadership>, sqlx::Error> {
    loop {
        let mut connection = pool.acquire().await?;
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *connection)
            .await?;
        if acquired {
            return Ok(Some(Leadership {
                connection: Some(connection),
            }));
        }
        drop(connection);
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// A stable lock key for a consumer name.
pub fn lock_key(name: &str) -> i64 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn holders(pool: &PgPool, key: i64) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
        )
        .bind((key >> 32) & 0xFFFF_FFFF)
        .bind(key & 0xFFFF_FFFF)
        .fetch_one(pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn leadership_ends_when_released_or_dropped_while_the_pool_stays_open() {
        let database = test_support::TestDatabase::create("leader").await;
        let key = lock_key("leader-test");
        let stop = CancellationToken::new();
        let leadership = acquire(&database.pool, key, &stop).await.unwrap().unwrap();
        assert_eq!(holders(&database.pool, key).await, 1);
        leadership.release().await;
        assert_eq!(
            holders(&database.pool, key).await,
            0,
            "released, the lock is free"
        );

        let leadership = acquire(&database.pool, key, &stop).await.unwrap().unwrap();
        drop(leadership);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while holders(&database.pool, key).await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "dropped, the lock stayed held"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        database.drop_database().await;
    }
}
