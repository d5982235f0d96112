//! Test stacks leave databases and streams behind (a dropped stack cannot
//! clean up asynchronously). Their names start with the minute they were
//! made, so the first stack of each test process removes whatever earlier
//! runs left more than an hour ago: never anything a running test uses.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const STALE_AFTER_MINUTES: u64 = 60;
/// Hex digits of the creation minute at the start of a stack id.
const MINUTE_DIGITS: usize = 8;

static SWEPT: AtomicBool = AtomicBool::new(false);

fn now_minutes() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() / 60)
        .unwrap_or_default()
}

/// A new stack id: creation minute, then randomness (14 lowercase hex digits).
pub fn stack_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{:08x}{}", now_minutes(), &random[..6])
}

/// The creation minute of a stack id at the start of `name` (after `prefix`),
/// if `name` is one of ours.
fn created_minute(name: &str, prefix: &str) -> Option<u64> {
    let rest = name.strip_prefix(prefix)?;
    let id = rest.get(..MINUTE_DIGITS + 6)?;
    if !id.chars().all(|c| c.is_ascii_hexdigit()) || !rest[id.len()..].starts_with('_') {
        return None;
    }
    u64::from_str_radix(&id[..MINUTE_DIGITS], 16).ok()
}

fn is_stale(minute: Option<u64>) -> bool {
    minute.is_some_and(|minute| now_minutes().saturating_sub(minute) > STALE_AFTER_MINUTES)
}

/// Removes stale test databases and streams, once per process. Best effort:
/// failures are reported and otherwise ignored.
pub async fn sweep_once(maintenance_url: &str, nats_url: &str) {
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Err(error) = sweep_databases(maintenance_url).await {
        eprintln!("e2e: could not sweep old test databases: {error:#}");
    }
    if let Err(error) = sweep_streams(nats_url).await {
        eprintln!("e2e: could not sweep old test streams: {error:#}");
    }
}

async fn sweep_databases(maintenance_url: &str) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(maintenance_url).await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'")
            .fetch_all(&pool)
            .await?;
    for name in names
        .into_iter()
        .filter(|name| is_stale(created_minute(name, "t_")))
    {
        let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await?;
    }
    pool.close().await;
    Ok(())
}

async fn sweep_streams(nats_url: &str) -> anyhow::Result<()> {
    use futures::TryStreamExt as _;
    let client = async_nats::connect(nats_url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let names: Vec<String> = tokio::time::timeout(
        Duration::from_secs(10),
        jetstream.stream_names().try_collect(),
    )
    .await??;
    for name in names {
        let lower = name.to_ascii_lowercase();
        let minute = created_minute(&lower, "t").or_else(|| created_minute(&lower, "kv_t"));
        if is_stale(minute) {
            jetstream.delete_stream(&name).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_our_old_names_are_stale() {
        let fresh = stack_id();
        assert_eq!(fresh.len(), 14);
        assert!(!is_stale(created_minute(&format!("t_{fresh}_audit"), "t_")));
        let old = format!("{:08x}abcdef", now_minutes() - 61);
        assert!(is_stale(created_minute(&format!("t_{old}_audit"), "t_")));
        assert!(is_stale(created_minute(
            &format!("kv_t{old}_usernames"),
            "kv_t"
        )));
        assert!(is_stale(created_minute(&format!("t{old}_events"), "t")));
        for foreign in [
            "t_a0c32eebe507_audit",
            "scim_directory",
            "test_acc_1",
            "t_zzzzzzzzzzzzzz_x",
        ] {
            assert!(!is_stale(created_minute(foreign, "t_")), "{foreign}");
        }
    }
}
