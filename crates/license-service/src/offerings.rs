//! Offerings: what the vendor offers a tenant (seats of one license type of one
//! application instance), defined by the operator. A configuration's pool for
//! the same application instance and license type draws on an offering; at
//! most one configuration's pool may, which the auto-assign switch checks under
//! the tenant lock (see `licensing`).

use sqlx::{FromRow, PgConnection, PgPool};

use crate::error::ServiceError;
use crate::licensing::{POOL_COLUMNS, PoolRow};

/// Longest application instance or license type name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Most seats one offering may have: far above any real contract, and low
/// enough that a typo (an extra few zeros) is refused rather than sold.
pub const MAX_SEATS: u32 = 1_000_000;

/// An offering and the pool drawing on it, if any.
#[derive(Debug, Clone, FromRow)]
pub struct OfferingRow {
    pub tenant_id: String,
    pub application_instance: String,
    pub license_type: String,
    pub seats: i32,
    pub config_id: Option<String>,
    pub pool_id: Option<String>,
}

/// The pool named as drawing on an offering: the auto-assigning one, else the
/// oldest. Normally there is one; pools made with `UpsertPool` for several
/// configurations of a tenant can make more.
const OFFERING_WITH_POOL: &str = "SELECT o.tenant_id, o.application_instance, o.license_type, o.seats, \
            p.config_id, p.id AS pool_id \
     FROM offerings o \
     LEFT JOIN LATERAL ( \
         SELECT id, config_id FROM pools \
         WHERE pools.tenant_id = o.tenant_id \
           AND pools.application_instance = o.application_instance \
           AND pools.license_type = o.license_type \
         ORDER BY auto_assign DESC, created_at, id LIMIT 1 \
     ) p ON true";

/// A trimmed application instance or license type: non-empty, at most
/// [`MAX_NAME_CHARS`], no control characters (they would garble the
/// console and the log).
pub(crate) fn name<'a>(field: &str, value: &'a str) -> Result<&'a str, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::InvalidArgument(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::InvalidArgument(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value)
}

pub(crate) fn seats(seats: u32) -> Result<i32, ServiceError> {
    if seats > MAX_SEATS {
        return Err(ServiceError::InvalidArgument(format!(
            "seats must be at most {MAX_SEATS}"
        )));
    }
    i32::try_from(seats)
        .map_err(|_| ServiceError::InvalidArgument(format!("seats must be at most {MAX_SEATS}")))
}

/// The offering's seats, or `None` when the tenant has no such offering.
pub(crate) async fn seats_of(
    conn: &mut PgConnection,
    tenant_id: &str,
    application_instance: &str,
    license_type: &str,
) -> Result<Option<i32>, ServiceError> {
    Ok(sqlx::query_scalar(
        "SELECT seats FROM offerings \
         WHERE tenant_id = $1 AND application_instance = $2 AND license_type = $3",
    )
    .bind(tenant_id)
    .bind(application_instance)
    .bind(license_type)
    .fetch_optional(conn)
    .await?)
}

pub(crate) async fn upsert(
    conn: &mut PgConnection,
    tenant_id: &str,
    application_instance: &str,
    license_type: &str,
    seats: i32,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO offerings (tenant_id, application_instance, license_type, seats) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, application_instance, license_type) DO UPDATE \
         SET seats = EXCLUDED.seats, updated_at = now()",
    )
    .bind(tenant_id)
    .bind(application_instance)
    .bind(license_type)
    .bind(seats)
    .execute(conn)
    .await?;
    Ok(())
}

/// The pools drawing on an offering, locked in id order (the locking protocol).
pub(crate) async fn lock_pools_drawing_on(
    conn: &mut PgConnection,
    tenant_id: &str,
    application_instance: &str,
    license_type: &str,
) -> Result<Vec<PoolRow>, ServiceError> {
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools \
         WHERE tenant_id = $1 AND application_instance = $2 AND license_type = $3 \
         ORDER BY id FOR UPDATE"
    );
    Ok(sqlx::query_as::<_, PoolRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(application_instance)
        .bind(license_type)
        .fetch_all(conn)
        .await?)
}

pub(crate) async fn get(
    conn: &mut PgConnection,
    tenant_id: &str,
    application_instance: &str,
    license_type: &str,
) -> Result<Option<OfferingRow>, ServiceError> {
    let sql = format!(
        "{OFFERING_WITH_POOL} \
         WHERE o.tenant_id = $1 AND o.application_instance = $2 AND o.license_type = $3"
    );
    Ok(sqlx::query_as::<_, OfferingRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(application_instance)
        .bind(license_type)
        .fetch_optional(conn)
        .await?)
}

pub(crate) async fn list(db: &PgPool, tenant_id: &str) -> Result<Vec<OfferingRow>, ServiceError> {
    let sql = format!(
        "{OFFERING_WITH_POOL} WHERE o.tenant_id = $1 \
         ORDER BY o.application_instance, o.license_type"
    );
    Ok(sqlx::query_as::<_, OfferingRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .fetch_all(db)
        .await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            name("license_type", "  core ").unwrap(),
            "core",
            "surrounding blanks are not part of the name"
        );
        assert!(name("license_type", &"é".repeat(MAX_NAME_CHARS)).is_ok());
        for bad in [
            String::new(),
            "  ".to_owned(),
            "x".repeat(MAX_NAME_CHARS + 1),
            "sales\nnavigator".to_owned(),
            "core\u{0}".to_owned(),
        ] {
            let error = name("license_type", &bad).unwrap_err();
            assert!(error.to_string().contains("license_type"), "{error}");
        }
    }

    #[test]
    fn seats_have_a_ceiling() {
        assert_eq!(seats(0).unwrap(), 0);
        assert_eq!(seats(MAX_SEATS).unwrap(), 1_000_000);
        assert!(seats(MAX_SEATS + 1).is_err());
        assert!(seats(u32::MAX).is_err());
    }
}
