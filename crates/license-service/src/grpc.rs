//! `scim.license.v1.LicenseAdmin`.

use std::sync::Arc;

use chrono::SecondsFormat;
use scim_rpc::license::license_admin_server::LicenseAdmin;
use scim_rpc::license::{
    AssignLicenseRequest, Assignment, GetPoolRequest, ListPoolsRequest, ListPoolsResponse, Pool,
    RevokeLicenseRequest, RevokeLicenseResponse, UpsertPoolRequest, UserLicensesRequest,
    UserLicensesResponse,
};
use sqlx::PgPool;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::licensing::{self, AssignmentRow, Cause, POOL_COLUMNS, PoolRow, REASON_REVOKED, Source};
use crate::metrics::{LicenseMetrics, Tally};

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

    async fn upsert(
        &self,
        request: UpsertPoolRequest,
        correlation_id: String,
    ) -> Result<Pool, ServiceError> {
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
        let cause = Cause::operator(correlation_id);
        licensing::hand_over_free_seats(&mut tx, &pool.id, &cause, &mut tally).await?;
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
        correlation_id: String,
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
        let cause = Cause::operator(correlation_id);
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
        correlation_id: String,
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
        let cause = Cause::operator(correlation_id);
        let revoked =
            licensing::release_seat(&mut tx, &pool, user_id, REASON_REVOKED, &cause, &mut tally)
                .await?;
        tx.commit().await?;
        self.committed(&tally);
        Ok(RevokeLicenseResponse { revoked })
    }
}

#[tonic::async_trait]
impl LicenseAdmin for LicenseAdminService {
    async fn upsert_pool(
        &self,
        request: Request<UpsertPoolRequest>,
    ) -> Result<Response<Pool>, Status> {
        let correlation_id = correlation_id(&request);
        Ok(Response::new(
            self.upsert(request.into_inner(), correlation_id).await?,
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
        let correlation_id = correlation_id(&request);
        Ok(Response::new(
            self.assign(request.into_inner(), correlation_id).await?,
        ))
    }

    async fn revoke_license(
        &self,
        request: Request<RevokeLicenseRequest>,
    ) -> Result<Response<RevokeLicenseResponse>, Status> {
        let correlation_id = correlation_id(&request);
        Ok(Response::new(
            self.revoke(request.into_inner(), correlation_id).await?,
        ))
    }
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

fn assignment_message(assignment: AssignmentRow) -> Assignment {
    Assignment {
        pool_id: assignment.pool_id,
        tenant_id: assignment.tenant_id,
        user_id: assignment.user_id,
        assigned_at: assignment
            .assigned_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
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
