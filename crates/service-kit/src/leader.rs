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
pub struct Leadership {
    _connection: PoolConnection<Postgres>,
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
                _connection: connection,
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
