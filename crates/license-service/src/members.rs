//! Who holds a seat in a pool (oldest assignment first) and who waits for one
//! (queue order), paged together: holders first, then the waiting users.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

use crate::error::ServiceError;
use crate::licensing::{AssignmentRow, POOL_COLUMNS, PoolRow, WAITING_IN_POOL};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// Where a page starts: keyset positions, so a page costs the same at any depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// Holders after this `assignments.assignment_order`; 0: from the first.
    Holders(i64),
    /// Waiting users after this queue position; 0: from the first.
    Waiting(i64),
}

#[derive(Debug, FromRow)]
struct HolderRow {
    #[sqlx(flatten)]
    assignment: AssignmentRow,
    assignment_order: i64,
}

#[derive(Debug, FromRow)]
pub(crate) struct WaitingRow {
    pub user_id: String,
    pub denied_at: DateTime<Utc>,
    pub queue_position: i64,
}

/// One page of a pool's members.
#[derive(Debug)]
pub(crate) struct MembersPage {
    pub holders: Vec<AssignmentRow>,
    /// Each waiting user with their place in the queue (1 = next).
    pub waiting: Vec<(WaitingRow, u64)>,
    pub next: Option<Cursor>,
    pub holders_total: u64,
    pub waiting_total: u64,
}

pub(crate) fn page_size(requested: u32) -> usize {
    let size = match requested {
        0 => DEFAULT_PAGE_SIZE,
        size => size.min(MAX_PAGE_SIZE),
    };
    usize::try_from(size).unwrap_or(DEFAULT_PAGE_SIZE as usize)
}

/// Opaque to clients so the cursor's shape can change without an API change.
pub(crate) fn encode_page_token(cursor: &Cursor) -> String {
    let text = match cursor {
        Cursor::Holders(after) => format!("h{after}"),
        Cursor::Waiting(after) => format!("w{after}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn decode_page_token(token: &str) -> Result<Cursor, ServiceError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(Cursor::Holders(0));
    }
    let invalid =
        || ServiceError::InvalidArgument("page_token is not a token this service issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (phase, after) = text.split_at_checked(1).ok_or_else(invalid)?;
    let after = after
        .parse::<i64>()
        .ok()
        .filter(|after| *after >= 0)
        .ok_or_else(invalid)?;
    match phase {
        "h" => Ok(Cursor::Holders(after)),
        "w" => Ok(Cursor::Waiting(after)),
        _ => Err(invalid()),
    }
}

/// Reads one page from a single snapshot, so the totals and the rows agree.
pub(crate) async fn page(
    db: &PgPool,
    pool_id: &str,
    cursor: Cursor,
    page_size: usize,
) -> Result<Option<MembersPage>, ServiceError> {
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools WHERE id = $1");
    let Some(pool) = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(pool_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let waiting_total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) {WAITING_IN_POOL}"
    )))
    .bind(pool_id)
    .fetch_one(&mut *tx)
    .await?;
    let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);

    let mut holders = Vec::new();
    let waiting_after = match cursor {
        Cursor::Waiting(after) => after,
        Cursor::Holders(after) => {
            let mut rows = sqlx::query_as::<_, HolderRow>(
                "SELECT pool_id, tenant_id, user_id, source, assigned_at, assignment_order \
                 FROM assignments WHERE pool_id = $1 AND assignment_order > $2 \
                 ORDER BY assignment_order LIMIT $3",
            )
            .bind(pool_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            if rows.len() > page_size {
                rows.truncate(page_size);
                let next = rows
                    .last()
                    .map(|last| Cursor::Holders(last.assignment_order));
                let holders = rows.into_iter().map(|row| row.assignment).collect();
                return Ok(Some(MembersPage {
                    holders,
                    waiting: Vec::new(),
                    next,
                    holders_total: count(i64::from(pool.seats_used)),
                    waiting_total: count(waiting_total),
                }));
            }
            holders = rows.into_iter().map(|row| row.assignment).collect();
            0
        }
    };

    let room = page_size - holders.len();
    let mut waiting = Vec::new();
    let mut next = None;
    if room == 0 {
        // The holders filled the page exactly; the waiting users come next.
        if waiting_total > 0 {
            next = Some(Cursor::Waiting(0));
        }
    } else {
        let ahead: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) {WAITING_IN_POOL} AND d.queue_position <= $2"
        )))
        .bind(pool_id)
        .bind(waiting_after)
        .fetch_one(&mut *tx)
        .await?;
        let mut rows = sqlx::query_as::<_, WaitingRow>(sqlx::AssertSqlSafe(format!(
            "SELECT d.user_id, d.denied_at, d.queue_position {WAITING_IN_POOL} \
             AND d.queue_position > $2 ORDER BY d.queue_position LIMIT $3"
        )))
        .bind(pool_id)
        .bind(waiting_after)
        .bind(i64::try_from(room + 1).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        if rows.len() > room {
            rows.truncate(room);
            next = rows.last().map(|last| Cursor::Waiting(last.queue_position));
        }
        let first_position = count(ahead) + 1;
        waiting = rows.into_iter().zip(first_position..).collect::<Vec<_>>();
    }
    tx.commit().await?;
    Ok(Some(MembersPage {
        holders,
        waiting,
        next,
        holders_total: count(i64::from(pool.seats_used)),
        waiting_total: count(waiting_total),
    }))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_forgeries() {
        for cursor in [
            Cursor::Holders(0),
            Cursor::Holders(17),
            Cursor::Waiting(0),
            Cursor::Waiting(42),
        ] {
            assert_eq!(
                decode_page_token(&encode_page_token(&cursor)).unwrap(),
                cursor
            );
        }
        assert_eq!(decode_page_token("").unwrap(), Cursor::Holders(0));
        for bad in [
            "!!!",
            &URL_SAFE_NO_PAD.encode("w-1"),
            &URL_SAFE_NO_PAD.encode("wx"),
            &URL_SAFE_NO_PAD.encode("h"),
            &URL_SAFE_NO_PAD.encode("s7"),
            &URL_SAFE_NO_PAD.encode("é7"),
        ] {
            assert!(decode_page_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn page_size_defaults_and_is_capped() {
        assert_eq!(page_size(0), 50);
        assert_eq!(page_size(7), 7);
        assert_eq!(page_size(500), 500);
        assert_eq!(page_size(10_000), 500);
    }
}
