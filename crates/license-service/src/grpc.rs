//! `scim.license.v1.LicenseAdmin`.

use std::sync::Arc;

use chrono::SecondsFormat;
use scim_events::{AdminAction, AdminActionKind};
use scim_rpc::license::license_admin_server::LicenseAdmin;
use scim_rpc::license::{
    AssignLicenseRequest, Assignment, GetPoolRequest, ListOfferingsRequest, ListOfferingsResponse,
    ListPoolMembersRequest, ListPoolMembersResponse, ListPoolsRequest, ListPoolsResponse, Offering,
    Pool, RevokeLicenseRequest, RevokeLicenseResponse, SetAutoAssignRequest, SetAutoAssignResponse,
    UpsertOfferingRequest, UpsertPoolRequest, UserLicensesRequest, UserLicensesResponse,
    WaitingUser,
};
use service_kit::admin_auth::acting_admin;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::licensing::{self, AssignmentRow, Cause, POOL_COLUMNS, PoolRow, REASON_REVOKED, Source};
use crate::members::{self, MembersPage};
use crate::metrics::{LicenseMetrics, Tally};
use crate::offerings::{self, OfferingRow};

pub struct LicenseAdminService {
    db: PgPool,
    relay_wake: Arc<Notify>,
    metrics: LicenseMetrics,
}

impl LicenseAdminService {
    pub fn new(db: PgPool, relay_wake: Arc<Notify>, metrics: LicenseMetrics) -> Self {
        Self {
            db,
            relay_wake,
            metrics,
        }
    }

    fn committed(&self, tally: &Tally) {
        self.metrics.record(tally);
        if !tally.is_empty() {
            self.relay_wake.notify_one();
        }
    }

    /// After a commit that also wrote an admin action into the outbox.
    fn committed_admin_action(&self, tally: &Tally) {
        self.metrics.record(tally);
        self.relay_wake.notify_one();
    }

    async fn upsert(&self, request: UpsertPoolRequest, cause: Cause) -> Result<Pool, ServiceError> {
        let tenant_id = required("tenant_id", &request.tenant_id)?;
        let config_id = required("config_id", &request.config_id)?;
        let application_instance = required("application_instance", &request.application_instance)?;
        let license_type = required("license_type", &request.license_type)?;
        let seats = i32::try_from(request.seats).map_err(|_| {
            ServiceError::InvalidArgument(format!("seats must be at most {}", i32::MAX))
        })?;
        // Shrinking below seats_used keeps existing assignments: revoking
        // someone's license is an explicit decision, not a side effect.
        let sql = format!(
            "INSERT INTO pools (id, tenant_id, config_id, application_instance, license_type, seats, auto_assign) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (config_id, application_instance, license_type) DO UPDATE \
             SET seats = EXCLUDED.seats, auto_assign = EXCLUDED.auto_assign \
             WHERE pools.tenant_id = EXCLUDED.tenant_id \
             RETURNING {POOL_COLUMNS}"
        );
        let mut tx = self.db.begin().await?;
        licensing::lock_tenant(&mut tx, tenant_id).await?;
        let was_auto_assigning: bool = sqlx::query_scalar(
            "SELECT auto_assign FROM pools \
             WHERE config_id = $1 AND application_instance = $2 AND license_type = $3 FOR UPDATE",
        )
        .bind(config_id)
        .bind(application_instance)
        .bind(license_type)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false);
        let pool = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7().to_string())
            .bind(tenant_id)
            .bind(config_id)
            .bind(application_instance)
            .bind(license_type)
            .bind(seats)
            .bind(request.auto_assign)
            .fetch_optional(&mut *tx)
            .await?;
        // No row: the configuration's pool exists under another tenant. Other
        // tenants' resources are reported as absent, never as forbidden.
        let pool = pool.ok_or_else(|| {
            ServiceError::NotFound(format!("configuration {config_id} not found"))
        })?;
        // A grown pool (or one switched to auto-assign) serves its queue now.
        let mut tally = Tally::default();
        let switched_on = pool.auto_assign && !was_auto_assigning;
        licensing::serve_after_change(&mut tx, &pool.id, switched_on, &cause, &mut tally).await?;
        let pool = licensing::lock_pool(&mut tx, &pool.id)
            .await?
            .ok_or_else(|| pool_not_found(&pool.id))?;
        tx.commit().await?;
        self.committed(&tally);
        Ok(pool_message(pool))
    }

    async fn list(&self, request: ListPoolsRequest) -> Result<ListPoolsResponse, ServiceError> {
        let tenant_id = required("tenant_id", &request.tenant_id)?;
        let sql = format!(
            "SELECT {POOL_COLUMNS} FROM pools WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        let pools = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(&self.db)
            .await?;
        Ok(ListPoolsResponse {
            pools: pools.into_iter().map(pool_message).collect(),
        })
    }

    async fn get(&self, request: GetPoolRequest) -> Result<Pool, ServiceError> {
        let pool_id = required("pool_id", &request.pool_id)?;
        let sql = format!("SELECT {POOL_COLUMNS} FROM pools WHERE id = $1");
        let pool = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
            .bind(pool_id)
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| pool_not_found(pool_id))?;
        Ok(pool_message(pool))
    }

    async fn user_licenses(
        &self,
        request: UserLicensesRequest,
    ) -> Result<UserLicensesResponse, ServiceError> {
        let tenant_id = required("tenant_id", &request.tenant_id)?;
        let user_id = required("user_id", &request.user_id)?;
        let assignments = sqlx::query_as::<_, AssignmentRow>(
            "SELECT pool_id, tenant_id, user_id, source, assigned_at FROM assignments \
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY assigned_at, pool_id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(&self.db)
        .await?;
        Ok(UserLicensesResponse {
            assignments: assignments.into_iter().map(assignment_message).collect(),
        })
    }

    async fn assign(
        &self,
        request: AssignLicenseRequest,
        cause: Cause,
    ) -> Result<Assignment, ServiceError> {
        let pool_id = required("pool_id", &request.pool_id)?;
        let user_id = subject_token("user_id", &request.user_id)?;
        let mut tx = self.db.begin().await?;
        let tenant_id = pool_tenant(&mut tx, pool_id).await?;
        licensing::lock_tenant(&mut tx, &tenant_id).await?;
        let pool = licensing::lock_pool(&mut tx, pool_id)
            .await?
            .ok_or_else(|| pool_not_found(pool_id))?;
        if let Some(existing) = licensing::find_assignment(&mut tx, pool_id, user_id).await? {
            return Ok(assignment_message(existing));
        }
        // Unknown users are allowed: the directory stream may not have
        // reached this service yet for a user created a moment ago.
        let status: Option<(bool, bool)> = sqlx::query_as(
            "SELECT active, deleted FROM users WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(&pool.tenant_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        match status {
            Some((_, true)) => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "user {user_id} is deleted"
                )));
            }
            Some((false, _)) => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "user {user_id} is deactivated"
                )));
            }
            _ => {}
        }
        let mut tally = Tally::default();
        let assignment =
            licensing::take_seat(&mut tx, &pool, user_id, Source::Manual, &cause, &mut tally)
                .await?
                .ok_or_else(|| {
                    ServiceError::FailedPrecondition(format!(
                        "pool {pool_id} has no free seat ({} of {} used)",
                        pool.seats_used, pool.seats
                    ))
                })?;
        tx.commit().await?;
        self.committed(&tally);
        Ok(assignment_message(assignment))
    }

    async fn revoke(
        &self,
        request: RevokeLicenseRequest,
        cause: Cause,
    ) -> Result<RevokeLicenseResponse, ServiceError> {
        let pool_id = required("pool_id", &request.pool_id)?;
        let user_id = required("user_id", &request.user_id)?;
        let mut tx = self.db.begin().await?;
        let tenant_id = pool_tenant(&mut tx, pool_id).await?;
        licensing::lock_tenant(&mut tx, &tenant_id).await?;
        let pool = licensing::lock_pool(&mut tx, pool_id)
            .await?
            .ok_or_else(|| pool_not_found(pool_id))?;
        let mut tally = Tally::default();
        let revoked =
            licensing::release_seat(&mut tx, &pool, user_id, REASON_REVOKED, &cause, &mut tally)
                .await?;
        // The freed seat goes to the user waiting longest, as after a
        // deactivation. Not `serve_after_change(.., true)`: that would give it
        // straight back to the user just revoked.
        if revoked {
            licensing::hand_over_free_seats(&mut tx, &pool.id, &cause, &mut tally).await?;
        }
        tx.commit().await?;
        self.committed(&tally);
        Ok(RevokeLicenseResponse { revoked })
    }

    async fn upsert_offering(
        &self,
        request: UpsertOfferingRequest,
        cause: Cause,
    ) -> Result<Offering, ServiceError> {
        let tenant_id = subject_token("tenant_id", &request.tenant_id)?;
        let application_instance =
            offerings::name("application_instance", &request.application_instance)?;
        let license_type = offerings::name("license_type", &request.license_type)?;
        let seats = offerings::seats(request.seats)?;
        let offering_name = format!("{application_instance}/{license_type}");

        let mut tx = self.db.begin().await?;
        licensing::lock_tenant(&mut tx, tenant_id).await?;
        let previous_seats =
            offerings::seats_of(&mut tx, tenant_id, application_instance, license_type).await?;
        offerings::upsert(
            &mut tx,
            tenant_id,
            application_instance,
            license_type,
            seats,
        )
        .await?;
        // The pools drawing on the offering follow it. Shrinking keeps existing
        // assignments, as for any pool; growing serves the queue.
        let mut tally = Tally::default();
        let pools = offerings::lock_pools_drawing_on(
            &mut tx,
            tenant_id,
            application_instance,
            license_type,
        )
        .await?;
        for pool in &pools {
            sqlx::query("UPDATE pools SET seats = $2 WHERE id = $1")
                .bind(&pool.id)
                .bind(seats)
                .execute(&mut *tx)
                .await?;
            licensing::serve_after_change(&mut tx, &pool.id, false, &cause, &mut tally).await?;
        }
        let offering = offerings::get(&mut tx, tenant_id, application_instance, license_type)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("offering {offering_name} not found")))?;
        // The log entry belongs to the configuration whose pool draws on the
        // offering; an offering no configuration uses yet concerns the tenant
        // as a whole, and its entry takes the tenant id as aggregate id.
        let aggregate_id = offering
            .config_id
            .clone()
            .unwrap_or_else(|| tenant_id.to_owned());
        let detail = match previous_seats {
            None => format!("offered {seats} seats"),
            Some(previous) => format!("seats {previous} -> {seats}"),
        };
        let action = AdminAction {
            action: AdminActionKind::OfferingUpsert,
            target_type: "offering".to_owned(),
            target_id: offering_name.clone(),
            target_name: Some(offering_name),
            detail: Some(detail),
        };
        licensing::record_admin_action(&mut tx, tenant_id, &aggregate_id, action, &cause).await?;
        tx.commit().await?;
        self.committed_admin_action(&tally);
        Ok(offering_message(offering))
    }

    async fn list_offerings(
        &self,
        request: ListOfferingsRequest,
    ) -> Result<ListOfferingsResponse, ServiceError> {
        let tenant_id = required("tenant_id", &request.tenant_id)?;
        let offerings = offerings::list(&self.db, tenant_id).await?;
        Ok(ListOfferingsResponse {
            offerings: offerings.into_iter().map(offering_message).collect(),
        })
    }

    async fn set_auto_assign(
        &self,
        request: SetAutoAssignRequest,
        cause: Cause,
    ) -> Result<SetAutoAssignResponse, ServiceError> {
        let tenant_id = subject_token("tenant_id", &request.tenant_id)?;
        let config_id = subject_token("config_id", &request.config_id)?;
        let mut tx = self.db.begin().await?;
        licensing::lock_tenant(&mut tx, tenant_id).await?;
        let foreign: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pools WHERE config_id = $1 AND tenant_id <> $2)",
        )
        .bind(config_id)
        .bind(tenant_id)
        .fetch_one(&mut *tx)
        .await?;
        if foreign {
            // Another tenant's configuration is reported absent, never forbidden.
            return Err(ServiceError::NotFound(format!(
                "configuration {config_id} not found"
            )));
        }
        let mut tally = Tally::default();
        let pool = if request.enabled {
            let application_instance =
                required("application_instance", &request.application_instance)?;
            let license_type = required("license_type", &request.license_type)?;
            let pool = enable_auto_assign(
                &mut tx,
                tenant_id,
                config_id,
                application_instance,
                license_type,
                &cause,
                &mut tally,
            )
            .await?;
            Some(pool_message(pool))
        } else {
            let pools = lock_config_pools(&mut tx, tenant_id, config_id).await?;
            let switched_off = switch_off_auto_assign(&mut tx, pools, None).await?;
            for pool in &switched_off {
                let detail = format!("{} of {} seats stay assigned", pool.seats_used, pool.seats);
                let action =
                    licensing::pool_action(pool, AdminActionKind::AutoAssignDisable, detail);
                licensing::record_admin_action(&mut tx, tenant_id, config_id, action, &cause)
                    .await?;
            }
            None
        };
        tx.commit().await?;
        self.committed_admin_action(&tally);
        Ok(SetAutoAssignResponse { pool })
    }

    async fn pool_members(
        &self,
        request: ListPoolMembersRequest,
    ) -> Result<ListPoolMembersResponse, ServiceError> {
        let pool_id = required("pool_id", &request.pool_id)?;
        let cursor = members::decode_page_token(&request.page_token)?;
        let page_size = members::page_size(request.page_size);
        let page = members::page(&self.db, pool_id, cursor, page_size)
            .await?
            .ok_or_else(|| pool_not_found(pool_id))?;
        Ok(members_message(page))
    }
}

/// Turns auto-assign on for the configuration's pool drawing on the tenant's
/// offering, and off for its other pools; returns the pool as it is after the
/// queue and the configuration's unseated users were served.
async fn enable_auto_assign(
    conn: &mut PgConnection,
    tenant_id: &str,
    config_id: &str,
    application_instance: &str,
    license_type: &str,
    cause: &Cause,
    tally: &mut Tally,
) -> Result<PoolRow, ServiceError> {
    let offering_name = format!("{application_instance}/{license_type}");
    let seats = offerings::seats_of(conn, tenant_id, application_instance, license_type)
        .await?
        .ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "tenant {tenant_id} has no offering {offering_name}"
            ))
        })?;
    // Two configurations drawing on one offering would each count its seats
    // as their own and together hand out more than were sold.
    let drawing: Option<String> = sqlx::query_scalar(
        "SELECT config_id FROM pools \
         WHERE tenant_id = $1 AND application_instance = $2 AND license_type = $3 \
           AND config_id <> $4 \
         ORDER BY created_at LIMIT 1",
    )
    .bind(tenant_id)
    .bind(application_instance)
    .bind(license_type)
    .bind(config_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(other) = drawing {
        return Err(ServiceError::FailedPrecondition(format!(
            "offering {offering_name} is already used by configuration {other}"
        )));
    }

    // Every pool of the configuration is locked in id order before any is
    // changed (the locking protocol); a new pool's UUIDv7 sorts after them.
    let existing = lock_config_pools(conn, tenant_id, config_id).await?;
    let was_auto_assigning = existing.iter().any(|pool| {
        pool.auto_assign
            && pool.application_instance == application_instance
            && pool.license_type == license_type
    });
    let switched_off =
        switch_off_auto_assign(conn, existing, Some((application_instance, license_type))).await?;
    let sql = format!(
        "INSERT INTO pools (id, tenant_id, config_id, application_instance, license_type, seats, auto_assign) \
         VALUES ($1, $2, $3, $4, $5, $6, true) \
         ON CONFLICT (config_id, application_instance, license_type) DO UPDATE \
         SET seats = EXCLUDED.seats, auto_assign = true \
         RETURNING {POOL_COLUMNS}"
    );
    let pool = sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::now_v7().to_string())
        .bind(tenant_id)
        .bind(config_id)
        .bind(application_instance)
        .bind(license_type)
        .bind(seats)
        .fetch_one(&mut *conn)
        .await?;
    licensing::serve_after_change(conn, &pool.id, !was_auto_assigning, cause, tally).await?;
    let pool = licensing::lock_pool(conn, &pool.id)
        .await?
        .ok_or_else(|| pool_not_found(&pool.id))?;

    for other in &switched_off {
        let detail = format!("auto-assign moved to {offering_name}");
        let action = licensing::pool_action(other, AdminActionKind::AutoAssignDisable, detail);
        licensing::record_admin_action(conn, tenant_id, config_id, action, cause).await?;
    }
    let detail = format!(
        "{} of {} seats assigned, {} waiting",
        pool.seats_used,
        pool.seats,
        waiting_count(conn, &pool.id).await?
    );
    let action = licensing::pool_action(&pool, AdminActionKind::AutoAssignEnable, detail);
    licensing::record_admin_action(conn, tenant_id, config_id, action, cause).await?;
    Ok(pool)
}

async fn lock_config_pools(
    conn: &mut PgConnection,
    tenant_id: &str,
    config_id: &str,
) -> Result<Vec<PoolRow>, ServiceError> {
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools WHERE tenant_id = $1 AND config_id = $2 \
         ORDER BY id FOR UPDATE"
    );
    Ok(sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(config_id)
        .fetch_all(conn)
        .await?)
}

/// Turns auto-assign off on a configuration's `pools` (locked by the caller)
/// but the one for `keep` (an application instance and license type); returns
/// the pools it was on for. Seats given stay assigned and the queue stays in
/// order, to be served when auto-assign is switched on again.
async fn switch_off_auto_assign(
    conn: &mut PgConnection,
    pools: Vec<PoolRow>,
    keep: Option<(&str, &str)>,
) -> Result<Vec<PoolRow>, ServiceError> {
    let mut switched_off = Vec::new();
    for mut pool in pools {
        let kept = keep.is_some_and(|(application_instance, license_type)| {
            pool.application_instance == application_instance && pool.license_type == license_type
        });
        if !pool.auto_assign || kept {
            continue;
        }
        sqlx::query("UPDATE pools SET auto_assign = false WHERE id = $1")
            .bind(&pool.id)
            .execute(&mut *conn)
            .await?;
        pool.auto_assign = false;
        switched_off.push(pool);
    }
    Ok(switched_off)
}

async fn waiting_count(conn: &mut PgConnection, pool_id: &str) -> Result<i64, ServiceError> {
    let sql = format!("SELECT count(*) {}", licensing::WAITING_IN_POOL);
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(pool_id)
        .fetch_one(conn)
        .await?)
}

#[tonic::async_trait]
impl LicenseAdmin for LicenseAdminService {
    async fn upsert_pool(
        &self,
        request: Request<UpsertPoolRequest>,
    ) -> Result<Response<Pool>, Status> {
        let cause = cause(&request);
        Ok(Response::new(
            self.upsert(request.into_inner(), cause).await?,
        ))
    }

    async fn list_pools(
        &self,
        request: Request<ListPoolsRequest>,
    ) -> Result<Response<ListPoolsResponse>, Status> {
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn get_pool(&self, request: Request<GetPoolRequest>) -> Result<Response<Pool>, Status> {
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn user_licenses(
        &self,
        request: Request<UserLicensesRequest>,
    ) -> Result<Response<UserLicensesResponse>, Status> {
        Ok(Response::new(
            Self::user_licenses(self, request.into_inner()).await?,
        ))
    }

    async fn assign_license(
        &self,
        request: Request<AssignLicenseRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let cause = cause(&request);
        Ok(Response::new(
            self.assign(request.into_inner(), cause).await?,
        ))
    }

    async fn revoke_license(
        &self,
        request: Request<RevokeLicenseRequest>,
    ) -> Result<Response<RevokeLicenseResponse>, Status> {
        let cause = cause(&request);
        Ok(Response::new(
            self.revoke(request.into_inner(), cause).await?,
        ))
    }

    async fn upsert_offering(
        &self,
        request: Request<UpsertOfferingRequest>,
    ) -> Result<Response<Offering>, Status> {
        let cause = cause(&request);
        Ok(Response::new(
            Self::upsert_offering(self, request.into_inner(), cause).await?,
        ))
    }

    async fn list_offerings(
        &self,
        request: Request<ListOfferingsRequest>,
    ) -> Result<Response<ListOfferingsResponse>, Status> {
        Ok(Response::new(
            Self::list_offerings(self, request.into_inner()).await?,
        ))
    }

    async fn set_auto_assign(
        &self,
        request: Request<SetAutoAssignRequest>,
    ) -> Result<Response<SetAutoAssignResponse>, Status> {
        let cause = cause(&request);
        Ok(Response::new(
            Self::set_auto_assign(self, request.into_inner(), cause).await?,
        ))
    }

    async fn list_pool_members(
        &self,
        request: Request<ListPoolMembersRequest>,
    ) -> Result<Response<ListPoolMembersResponse>, Status> {
        Ok(Response::new(
            self.pool_members(request.into_inner()).await?,
        ))
    }
}

/// Who a state-changing call acts for: the caller's request id and the
/// person named in `x-scim-actor` (else the operator), for the log.
fn cause<T>(request: &Request<T>) -> Cause {
    Cause::operator(correlation_id(request), acting_admin(request.metadata()))
}

/// The caller's request id when it sent one, so a CLI invocation can be found
/// in the audit log; otherwise a fresh one.
fn correlation_id<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty() && value.len() <= 128)
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

async fn pool_tenant(conn: &mut sqlx::PgConnection, pool_id: &str) -> Result<String, ServiceError> {
    sqlx::query_scalar("SELECT tenant_id FROM pools WHERE id = $1")
        .bind(pool_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| pool_not_found(pool_id))
}

fn pool_not_found(pool_id: &str) -> ServiceError {
    ServiceError::NotFound(format!("pool {pool_id} not found"))
}

fn required<'a>(name: &str, value: &'a str) -> Result<&'a str, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        Err(ServiceError::InvalidArgument(format!("{name} is required")))
    } else {
        Ok(value)
    }
}

/// The user id becomes a subject token of the decision event, which
/// JetStream would refuse later, after the seat was already taken.
fn subject_token<'a>(name: &str, value: &'a str) -> Result<&'a str, ServiceError> {
    let value = required(name, value)?;
    if value
        .chars()
        .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace())
    {
        return Err(ServiceError::InvalidArgument(format!(
            "{name} must not contain '.', '*', '>' or whitespace"
        )));
    }
    Ok(value)
}

fn pool_message(pool: PoolRow) -> Pool {
    Pool {
        id: pool.id,
        tenant_id: pool.tenant_id,
        config_id: pool.config_id,
        application_instance: pool.application_instance,
        license_type: pool.license_type,
        seats: u32::try_from(pool.seats).unwrap_or(0),
        auto_assign: pool.auto_assign,
        seats_used: u32::try_from(pool.seats_used).unwrap_or(0),
    }
}

fn offering_message(offering: OfferingRow) -> Offering {
    Offering {
        tenant_id: offering.tenant_id,
        application_instance: offering.application_instance,
        license_type: offering.license_type,
        seats: u32::try_from(offering.seats).unwrap_or(0),
        config_id: offering.config_id.unwrap_or_default(),
        pool_id: offering.pool_id.unwrap_or_default(),
    }
}

fn members_message(page: MembersPage) -> ListPoolMembersResponse {
    ListPoolMembersResponse {
        holders: page.holders.into_iter().map(assignment_message).collect(),
        waiting: page
            .waiting
            .into_iter()
            .map(|(waiting, position)| WaitingUser {
                user_id: waiting.user_id,
                waiting_since: timestamp(waiting.denied_at),
                position,
            })
            .collect(),
        next_page_token: page
            .next
            .map(|cursor| members::encode_page_token(&cursor))
            .unwrap_or_default(),
        holders_total: page.holders_total,
        waiting_total: page.waiting_total,
    }
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn assignment_message(assignment: AssignmentRow) -> Assignment {
    Assignment {
        pool_id: assignment.pool_id,
        tenant_id: assignment.tenant_id,
        user_id: assignment.user_id,
        assigned_at: timestamp(assignment.assigned_at),
        source: assignment.source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_that_would_break_the_subject_are_refused() {
        assert!(subject_token("user_id", "2f1c-uuid").is_ok());
        for bad in ["", "  ", "a.b", "a b", "*", ">"] {
            assert!(subject_token("user_id", bad).is_err(), "{bad:?}");
        }
    }
}
