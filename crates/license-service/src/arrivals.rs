//! Active users arriving from the directory stream, decided as one set.
//!
//! A provisioned or updated active user needs a seat in every auto-assign pool of their
//! configuration, or a place in its queue. Decided one user at a time that cost six statements
//! per user (issue 13: 601,055 statements for a 100,000-user sync). Here a run of arrivals costs
//! a fixed handful: record the users, lock their pools, read where each user stands, decide in
//! memory in stream order, and write each kind of row with one statement.
//!
//! The result is the one-at-a-time result, because a run never names a user twice (the caller
//! starts a new run when a user comes back) and one user's decision reads only that user's rows
//! and the pools' seat counts, which the decision loop carries from one user to the next.

use std::collections::{HashMap, HashSet};

use scim_events::EventEnvelope;
use sqlx::{FromRow, PgConnection};

use crate::error::ServiceError;
use crate::licensing::{self, Cause, Decision, POOL_COLUMNS, PoolRow, REASON_EXHAUSTED, Source};
use crate::metrics::Tally;

/// A user event that leaves the user active.
pub(crate) struct Arrival<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    /// The configuration named by the event's actor; `None` for a system actor, in which case
    /// the user's last known configuration applies.
    pub config_id: Option<&'a str>,
    pub trigger: &'a EventEnvelope,
}

/// Arrivals in stream order, each user at most once.
#[derive(Default)]
pub(crate) struct Run<'a> {
    arrivals: Vec<Arrival<'a>>,
    users: HashSet<(&'a str, &'a str)>,
}

impl<'a> Run<'a> {
    /// Whether `arrival` can join this run: not when it names a user already in it.
    pub fn admits(&self, arrival: &Arrival<'a>) -> bool {
        !self.users.contains(&(arrival.tenant_id, arrival.user_id))
    }

    /// Adds `arrival`, which the caller checked with [`Run::admits`].
    pub fn push(&mut self, arrival: Arrival<'a>) {
        self.users.insert((arrival.tenant_id, arrival.user_id));
        self.arrivals.push(arrival);
    }

    /// Records and serves every arrival, in the caller's transaction (which holds the lock of
    /// each arrival's tenant), and empties the run.
    pub async fn serve(
        &mut self,
        conn: &mut PgConnection,
        tally: &mut Tally,
    ) -> Result<(), ServiceError> {
        let arrivals = std::mem::take(&mut self.arrivals);
        self.users.clear();
        if arrivals.is_empty() {
            return Ok(());
        }
        let configs = record_active(conn, &arrivals).await?;
        let pools = lock_auto_assign_pools(conn, &configs).await?;
        if pools.is_empty() {
            return Ok(());
        }
        let mut requests = Vec::new();
        for (index, arrival) in arrivals.iter().enumerate() {
            let Some(Some(config_id)) = configs.get(&(arrival.tenant_id, arrival.user_id)) else {
                continue;
            };
            for (pool_index, pool) in pools.iter().enumerate() {
                if pool.tenant_id == arrival.tenant_id && pool.config_id == *config_id {
                    requests.push(SeatRequest {
                        arrival: index,
                        pool: pool_index,
                        standing: Standing::default(),
                    });
                }
            }
        }
        read_standing(conn, &arrivals, &pools, &mut requests).await?;
        let mut seats_used: Vec<i32> = pools.iter().map(|pool| pool.seats_used).collect();
        let seats: Vec<i32> = pools.iter().map(|pool| pool.seats).collect();
        let verdicts = decide(&requests, &seats, &mut seats_used);
        write_verdicts(
            conn,
            &arrivals,
            &pools,
            &requests,
            &verdicts,
            &seats_used,
            tally,
        )
        .await
    }
}

/// Where one user stands in one pool before the run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    pub held: bool,
    pub waiting: bool,
}

/// One arrival's claim on one pool: indexes into the run's arrivals and locked pools.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeatRequest {
    pub arrival: usize,
    pub pool: usize,
    pub standing: Standing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Already holds a seat, or already waits in a full pool: nothing to do or announce.
    Unchanged,
    Assign,
    /// The pool is full: the user joins the back of its queue, announced once.
    Deny,
}

/// Decides `requests` in order (stream order, then pool id) against the pools' seats, counting
/// each seat given in `seats_used`. A waiting user gets a free seat like a newcomer: seats only
/// come free in a run's pools through this loop, and the queue was served when they last did.
pub(crate) fn decide(
    requests: &[SeatRequest],
    seats: &[i32],
    seats_used: &mut [i32],
) -> Vec<Verdict> {
    requests
        .iter()
        .map(|request| {
            if request.standing.held {
                return Verdict::Unchanged;
            }
            let used = &mut seats_used[request.pool];
            if *used < seats[request.pool] {
                *used += 1;
                Verdict::Assign
            } else if request.standing.waiting {
                Verdict::Unchanged
            } else {
                Verdict::Deny
            }
        })
        .collect()
}

type UserKey<'a> = (&'a str, &'a str);

/// Records each arrival as active (a first sighting takes its place in the arrival order) and
/// returns each user's configuration after the event.
async fn record_active<'a>(
    conn: &mut PgConnection,
    arrivals: &[Arrival<'a>],
) -> Result<HashMap<UserKey<'a>, Option<String>>, ServiceError> {
    let tenants: Vec<&str> = arrivals.iter().map(|arrival| arrival.tenant_id).collect();
    let users: Vec<&str> = arrivals.iter().map(|arrival| arrival.user_id).collect();
    let configs: Vec<Option<&str>> = arrivals.iter().map(|arrival| arrival.config_id).collect();
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "INSERT INTO users (tenant_id, user_id, config_id, active, deleted) \
         SELECT tenant_id, user_id, config_id, true, false \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY \
              AS arrival(tenant_id, user_id, config_id, position) \
         ORDER BY position \
         ON CONFLICT (tenant_id, user_id) DO UPDATE \
         SET config_id = COALESCE(EXCLUDED.config_id, users.config_id), active = true, deleted = false \
         RETURNING tenant_id, user_id, config_id",
    )
    .bind(&tenants)
    .bind(&users)
    .bind(&configs)
    .fetch_all(&mut *conn)
    .await?;
    let mut returned: HashMap<(String, String), Option<String>> = rows
        .into_iter()
        .map(|(tenant_id, user_id, config_id)| ((tenant_id, user_id), config_id))
        .collect();
    Ok(arrivals
        .iter()
        .map(|arrival| {
            let key = (arrival.tenant_id.to_owned(), arrival.user_id.to_owned());
            let config_id = returned.remove(&key).flatten();
            ((arrival.tenant_id, arrival.user_id), config_id)
        })
        .collect())
}

/// The auto-assign pools of the run's configurations, locked in id order (the module order of
/// `licensing`).
async fn lock_auto_assign_pools(
    conn: &mut PgConnection,
    configs: &HashMap<UserKey<'_>, Option<String>>,
) -> Result<Vec<PoolRow>, ServiceError> {
    let wanted: HashSet<(&str, &str)> = configs
        .iter()
        .filter_map(|((tenant_id, _), config_id)| Some((*tenant_id, config_id.as_deref()?)))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let (tenants, config_ids): (Vec<&str>, Vec<&str>) = wanted.into_iter().unzip();
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools \
         WHERE auto_assign AND (tenant_id, config_id) IN \
               (SELECT * FROM UNNEST($1::text[], $2::text[])) \
         ORDER BY id FOR UPDATE"
    );
    Ok(sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(&tenants)
        .bind(&config_ids)
        .fetch_all(conn)
        .await?)
}

#[derive(FromRow)]
struct StandingRow {
    position: i64,
    held: bool,
    waiting: bool,
}

/// Fills in each request's standing with one query over the (pool, user) pairs.
async fn read_standing(
    conn: &mut PgConnection,
    arrivals: &[Arrival<'_>],
    pools: &[PoolRow],
    requests: &mut [SeatRequest],
) -> Result<(), ServiceError> {
    if requests.is_empty() {
        return Ok(());
    }
    let pool_ids: Vec<&str> = requests
        .iter()
        .map(|request| pools[request.pool].id.as_str())
        .collect();
    let user_ids: Vec<&str> = requests
        .iter()
        .map(|request| arrivals[request.arrival].user_id)
        .collect();
    let rows: Vec<StandingRow> = sqlx::query_as(
        "SELECT pair.position, \
                EXISTS (SELECT 1 FROM assignments a WHERE a.pool_id = pair.pool_id AND a.user_id = pair.user_id) AS held, \
                EXISTS (SELECT 1 FROM denials d WHERE d.pool_id = pair.pool_id AND d.user_id = pair.user_id) AS waiting \
         FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS pair(pool_id, user_id, position)",
    )
    .bind(&pool_ids)
    .bind(&user_ids)
    .fetch_all(conn)
    .await?;
    for row in rows {
        let slot = usize::try_from(row.position - 1)
            .ok()
            .and_then(|index| requests.get_mut(index));
        if let Some(request) = slot {
            request.standing = Standing {
                held: row.held,
                waiting: row.waiting,
            };
        }
    }
    Ok(())
}

/// (pool, tenant, user) columns, row by row in the order the run decided them.
#[derive(Default)]
struct PoolUsers<'a> {
    pool_ids: Vec<&'a str>,
    tenant_ids: Vec<&'a str>,
    user_ids: Vec<&'a str>,
}

impl<'a> PoolUsers<'a> {
    fn push(&mut self, pool: &'a PoolRow, user_id: &'a str) {
        self.pool_ids.push(&pool.id);
        self.tenant_ids.push(&pool.tenant_id);
        self.user_ids.push(user_id);
    }

    /// Runs `sql`, which takes the columns as `$1` (pools), `$2` (tenants) and `$3` (users),
    /// unless there are no rows.
    async fn write(&self, conn: &mut PgConnection, sql: &'static str) -> Result<(), sqlx::Error> {
        if self.pool_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(sql)
            .bind(&self.pool_ids)
            .bind(&self.tenant_ids)
            .bind(&self.user_ids)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Writes the run's verdicts: seats, the pools' counts, queue places (in stream order, so the
/// queue stays first come, first served) and one outbox event per assignment or denial.
async fn write_verdicts(
    conn: &mut PgConnection,
    arrivals: &[Arrival<'_>],
    pools: &[PoolRow],
    requests: &[SeatRequest],
    verdicts: &[Verdict],
    seats_used: &[i32],
    tally: &mut Tally,
) -> Result<(), ServiceError> {
    let mut seated = PoolUsers::default();
    let mut unqueued = PoolUsers::default();
    let mut queued = PoolUsers::default();
    let mut events = Vec::new();
    for (request, verdict) in requests.iter().zip(verdicts) {
        let pool = &pools[request.pool];
        let user_id = arrivals[request.arrival].user_id;
        let (decision, reason) = match verdict {
            Verdict::Unchanged => continue,
            Verdict::Assign => {
                seated.push(pool, user_id);
                if request.standing.waiting {
                    unqueued.push(pool, user_id);
                }
                tally.assigned += 1;
                (Decision::Assigned, None)
            }
            Verdict::Deny => {
                queued.push(pool, user_id);
                tally.denied += 1;
                (Decision::Denied, Some(REASON_EXHAUSTED))
            }
        };
        events.push(licensing::decision_event(
            pool,
            user_id,
            Source::Auto.as_str(),
            reason,
            decision,
            &Cause::automatic(arrivals[request.arrival].trigger),
        ));
    }
    seated
        .write(
            conn,
            "INSERT INTO assignments (pool_id, tenant_id, user_id, source) \
             SELECT pool_id, tenant_id, user_id, 'auto' \
             FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY \
                  AS seat(pool_id, tenant_id, user_id, position) \
             ORDER BY position",
        )
        .await?;
    let (changed_ids, counts): (Vec<&str>, Vec<i32>) = pools
        .iter()
        .zip(seats_used)
        .filter(|(pool, used)| pool.seats_used != **used)
        .map(|(pool, used)| (pool.id.as_str(), *used))
        .unzip();
    if !changed_ids.is_empty() {
        sqlx::query(
            "UPDATE pools SET seats_used = counted.seats_used \
             FROM UNNEST($1::text[], $2::int4[]) AS counted(id, seats_used) \
             WHERE pools.id = counted.id",
        )
        .bind(&changed_ids)
        .bind(&counts)
        .execute(&mut *conn)
        .await?;
    }
    unqueued
        .write(
            conn,
            "DELETE FROM denials WHERE (pool_id, tenant_id, user_id) IN \
             (SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]))",
        )
        .await?;
    queued
        .write(
            conn,
            "INSERT INTO denials (pool_id, tenant_id, user_id) \
             SELECT pool_id, tenant_id, user_id \
             FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY \
                  AS place(pool_id, tenant_id, user_id, position) \
             ORDER BY position",
        )
        .await?;
    Ok(service_kit::outbox::enqueue_all(conn, &events).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn request(arrival: usize, pool: usize, held: bool, waiting: bool) -> SeatRequest {
        SeatRequest {
            arrival,
            pool,
            standing: Standing { held, waiting },
        }
    }

    #[test]
    fn newcomers_take_free_seats_in_order_then_queue() {
        let requests: Vec<SeatRequest> =
            (0..4).map(|user| request(user, 0, false, false)).collect();
        let mut used = vec![1];
        let verdicts = decide(&requests, &[3], &mut used);
        assert_eq!(
            verdicts,
            [
                Verdict::Assign,
                Verdict::Assign,
                Verdict::Deny,
                Verdict::Deny
            ]
        );
        assert_eq!(used, [3]);
    }

    #[test]
    fn settled_users_change_nothing() {
        let requests = [
            request(0, 0, true, false),
            request(1, 0, false, true),
            request(2, 1, true, false),
        ];
        let mut used = vec![2, 1];
        let verdicts = decide(&requests, &[2, 1], &mut used);
        assert_eq!(verdicts, [Verdict::Unchanged; 3]);
        assert_eq!(used, [2, 1], "no seat counted twice");
    }

    #[test]
    fn a_waiting_user_takes_a_seat_that_is_free() {
        let requests = [request(0, 0, false, true), request(1, 0, false, false)];
        let mut used = vec![4];
        assert_eq!(
            decide(&requests, &[5], &mut used),
            [Verdict::Assign, Verdict::Deny]
        );
    }

    #[test]
    fn pools_are_counted_apart() {
        // One user in two pools of their configuration: a seat in the free one, a queue place
        // in the full one.
        let requests = [request(0, 0, false, false), request(0, 1, false, false)];
        let mut used = vec![0, 1];
        assert_eq!(
            decide(&requests, &[1, 1], &mut used),
            [Verdict::Assign, Verdict::Deny]
        );
        assert_eq!(used, [1, 1]);
    }

    #[test]
    fn a_shrunk_pool_over_its_seats_gives_none() {
        let requests = [request(0, 0, false, false)];
        let mut used = vec![7];
        assert_eq!(decide(&requests, &[5], &mut used), [Verdict::Deny]);
        assert_eq!(used, [7]);
    }

    #[test]
    fn a_run_admits_each_user_once_per_tenant() {
        let trigger = EventEnvelope::new(
            "t1",
            scim_events::AggregateKind::User,
            "u1",
            scim_events::Actor::default(),
            "c".to_owned(),
            scim_events::EventPayload::UserDeleted {
                user_name: "u".into(),
            },
        );
        let arrival = |tenant_id, user_id| Arrival {
            tenant_id,
            user_id,
            config_id: None,
            trigger: &trigger,
        };
        let mut run = Run::default();
        assert!(run.admits(&arrival("t1", "u1")));
        run.push(arrival("t1", "u1"));
        assert!(!run.admits(&arrival("t1", "u1")));
        assert!(run.admits(&arrival("t2", "u1")));
        assert!(run.admits(&arrival("t1", "u2")));
    }
}
