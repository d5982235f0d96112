//! Accounts in Postgres: tenants, configurations and hashed bearer tokens.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::error::AccountError;
use super::token;

/// Token lifetime when the caller asks for 0 days: two years, as LinkedIn.
pub const DEFAULT_VALID_DAYS: u32 = 730;

/// Upper bound on a requested lifetime. Long-lived bearer secrets are a
/// liability, and an unbounded `u32` of days would overflow `timestamptz`.
pub const MAX_VALID_DAYS: u32 = 3650;

/// Longest accepted tenant or configuration name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// `last_used_at` is only rewritten when it is at least this old, so an IdP
/// pushing thousands of requests a minute costs one write a minute, not one
/// per request.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConfigRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Everything about a token except the secret, which is never stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: String,
    pub config_id: String,
    pub tenant_id: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a valid bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedToken {
    pub tenant_id: String,
    pub config_id: String,
    pub token_id: String,
    /// Time left until the token expires.
    pub valid_for: std::time::Duration,
}

#[derive(sqlx::FromRow)]
struct AuthRow {
    id: String,
    config_id: String,
    tenant_id: String,
    token_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    // The database clock, so expiry and the last-used throttle are judged
    // against the same clock that wrote `created_at` and `expires_at`.
    db_now: DateTime<Utc>,
}

/// Postgres-backed account center: tenants, SCIM configurations, tokens.
#[derive(Clone)]
pub struct AccountStore {
    pool: PgPool,
}

impl AccountStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn create_tenant(&self, name: &str) -> Result<TenantRecord, AccountError> {
        let name = validate_name("tenant name", name)?;
        sqlx::query_as::<_, TenantRecord>(
            "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        )
        .bind(new_id())
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| {
            unique_violation_as(error, || format!("a tenant named {name:?} already exists"))
        })
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, AccountError> {
        Ok(sqlx::query_as::<_, TenantRecord>(
            "SELECT id, name, created_at FROM tenants ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn create_config(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<ConfigRecord, AccountError> {
        require("tenant_id", tenant_id)?;
        let name = validate_name("configuration name", name)?;
        // INSERT … SELECT turns a missing tenant into "no row" instead of a
        // foreign-key error, in a single round-trip.
        sqlx::query_as::<_, ConfigRecord>(
            "INSERT INTO scim_configs (id, tenant_id, name) \
             SELECT $1, t.id, $3 FROM tenants t WHERE t.id = $2 \
             RETURNING id, tenant_id, name, created_at",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| {
            unique_violation_as(error, || {
                format!("tenant {tenant_id} already has a configuration named {name:?}")
            })
        })?
        .ok_or_else(|| tenant_not_found(tenant_id))
    }

    pub async fn list_configs(&self, tenant_id: &str) -> Result<Vec<ConfigRecord>, AccountError> {
        require("tenant_id", tenant_id)?;
        let configs = sqlx::query_as::<_, ConfigRecord>(
            "SELECT id, tenant_id, name, created_at FROM scim_configs \
             WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        // Only an empty result can mean "no such tenant"; checking then
        // saves a query in the common case.
        if configs.is_empty() && !self.exists(Parent::Tenant, tenant_id).await? {
            return Err(tenant_not_found(tenant_id));
        }
        Ok(configs)
    }

    /// Mints a token for `config_id`; `valid_days == 0` means
    /// [`DEFAULT_VALID_DAYS`]. The returned secret exists nowhere else.
    pub async fn issue_token(
        &self,
        config_id: &str,
        valid_days: u32,
    ) -> Result<(TokenRecord, String), AccountError> {
        require("config_id", config_id)?;
        let days = match valid_days {
            0 => DEFAULT_VALID_DAYS,
            days => days,
        };
        let days = i32::try_from(days)
            .ok()
            .filter(|_| days <= MAX_VALID_DAYS)
            .ok_or_else(|| {
                AccountError::InvalidArgument(format!(
                    "valid_days must be at most {MAX_VALID_DAYS}"
                ))
            })?;
        let generated = token::generate();
        // Both timestamps come from the same now(), so the lifetime is exact.
        // Hours rather than days: a day interval follows the session time
        // zone's calendar, which would stretch or shrink it across DST.
        let record = sqlx::query_as::<_, TokenRecord>(
            "INSERT INTO access_tokens (id, config_id, tenant_id, token_hash, prefix, expires_at) \
             SELECT $1, c.id, c.tenant_id, $3, $4, now() + make_interval(hours => $5 * 24) \
             FROM scim_configs c WHERE c.id = $2 \
             RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                       last_used_at, revoked_at",
        )
        .bind(new_id())
        .bind(config_id)
        .bind(&generated.hash[..])
        .bind(&generated.prefix)
        .bind(days)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| config_not_found(config_id))?;
        tracing::info!(
            token_id = %record.id,
            config_id = %record.config_id,
            tenant_id = %record.tenant_id,
            expires_at = %record.expires_at,
            "access token issued"
        );
        Ok((record, generated.secret))
    }

    pub async fn list_tokens(&self, config_id: &str) -> Result<Vec<TokenRecord>, AccountError> {
        require("config_id", config_id)?;
        let tokens = sqlx::query_as::<_, TokenRecord>(
            "SELECT id, config_id, tenant_id, prefix, created_at, expires_at, \
                    last_used_at, revoked_at \
             FROM access_tokens WHERE config_id = $1 ORDER BY created_at, id",
        )
        .bind(config_id)
        .fetch_all(&self.pool)
        .await?;
        if tokens.is_empty() && !self.exists(Parent::Config, config_id).await? {
            return Err(config_not_found(config_id));
        }
        Ok(tokens)
    }

    /// Revokes a token. Idempotent: revoking again keeps the original
    /// revocation time.
    pub async fn revoke_token(&self, token_id: &str) -> Result<TokenRecord, AccountError> {
        require("token_id", token_id)?;
        let record = sqlx::query_as::<_, TokenRecord>(
            "UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 \
             RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                       last_used_at, revoked_at",
        )
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("token {token_id} not found")))?;
        tracing::info!(
            token_id = %record.id,
            config_id = %record.config_id,
            tenant_id = %record.tenant_id,
            "access token revoked"
        );
        Ok(record)
    }

    /// Resolves a bearer token. Unknown, malformed, revoked and expired
    /// tokens all yield [`AccountError::Unauthenticated`].
    pub async fn authenticate(&self, secret: &str) -> Result<AuthenticatedToken, AccountError> {
        let parsed = token::parse(secret).map_err(|_| AccountError::Unauthenticated)?;
        let hash = parsed.hash();
        // Looking up by hash leaks no timing information about the secret:
        // steering the index search would need SHA-256 preimages.
        let row = sqlx::query_as::<_, AuthRow>(
            "SELECT id, config_id, tenant_id, token_hash, expires_at, last_used_at, revoked_at, \
                    now() AS db_now \
             FROM access_tokens WHERE token_hash = $1",
        )
        .bind(&hash[..])
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            tracing::debug!(prefix = parsed.display_prefix(), "unknown access token");
            return Err(AccountError::Unauthenticated);
        };
        // Redundant with the equality lookup, but keeps the check correct
        // should the lookup ever become a prefix or partial match.
        if !bool::from(row.token_hash.as_slice().ct_eq(&hash[..])) {
            return Err(AccountError::Unauthenticated);
        }
        if row.revoked_at.is_some() {
            tracing::debug!(token_id = %row.id, "revoked access token presented");
            return Err(AccountError::Unauthenticated);
        }
        if row.expires_at <= row.db_now {
            tracing::debug!(token_id = %row.id, "expired access token presented");
            return Err(AccountError::Unauthenticated);
        }
        let stale = row
            .last_used_at
            .is_none_or(|used| (row.db_now - used).num_seconds() >= LAST_USED_RESOLUTION_SECS);
        if stale {
            self.touch(&row.id).await;
        }
        let valid_for = (row.expires_at - row.db_now).to_std().unwrap_or_default();
        Ok(AuthenticatedToken {
            tenant_id: row.tenant_id,
            config_id: row.config_id,
            token_id: row.id,
            valid_for,
        })
    }

    // Best effort: last-used is informational, so a failed write must not
    // turn a valid request away.
    async fn touch(&self, token_id: &str) {
        // The condition is repeated so concurrent requests that all saw a
        // stale value produce a single effective write.
        let result = sqlx::query(
            "UPDATE access_tokens SET last_used_at = now() \
             WHERE id = $1 \
               AND (last_used_at IS NULL OR last_used_at <= now() - make_interval(secs => $2))",
        )
        .bind(token_id)
        .bind(LAST_USED_RESOLUTION_SECS as f64)
        .execute(&self.pool)
        .await;
        if let Err(error) = result {
            tracing::warn!(%token_id, %error, "could not record token use");
        }
    }

    async fn exists(&self, kind: Parent, id: &str) -> Result<bool, AccountError> {
        let sql = match kind {
            Parent::Tenant => "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)",
            Parent::Config => "SELECT EXISTS (SELECT 1 FROM scim_configs WHERE id = $1)",
        };
        Ok(sqlx::query_scalar::<_, bool>(sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }
}

#[derive(Clone, Copy)]
enum Parent {
    Tenant,
    Config,
}

fn new_id() -> String {
    Uuid::now_v7().to_string()
}

fn require(field: &str, value: &str) -> Result<(), AccountError> {
    if value.is_empty() {
        return Err(AccountError::InvalidArgument(format!(
            "{field} is required"
        )));
    }
    Ok(())
}

/// Trims and checks a display name; returns the form to store.
fn validate_name<'a>(what: &str, name: &'a str) -> Result<&'a str, AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::InvalidArgument(format!(
            "{what} must not be empty"
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AccountError::InvalidArgument(format!(
            "{what} must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AccountError::InvalidArgument(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(name)
}

fn unique_violation_as(error: sqlx::Error, message: impl FnOnce() -> String) -> AccountError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AccountError::AlreadyExists(message())
        }
        _ => AccountError::Database(error),
    }
}

fn tenant_not_found(tenant_id: &str) -> AccountError {
    AccountError::NotFound(format!("tenant {tenant_id} not found"))
}

fn config_not_found(config_id: &str) -> AccountError {
    AccountError::NotFound(format!("configuration {config_id} not found"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    //! Against a real Postgres (`TEST_DATABASE_URL`, default
    //! `postgres://postgres@127.0.0.1:5432/postgres`); see `test_db`.

    use chrono::Duration;

    use super::*;
    use crate::accounts::test_db::with_database;

    async fn tenant_and_config(store: &AccountStore) -> (TenantRecord, ConfigRecord) {
        let tenant = store.create_tenant("Acme").await.unwrap();
        let config = store.create_config(&tenant.id, "Okta").await.unwrap();
        (tenant, config)
    }

    async fn token_row(pool: &PgPool, token_id: &str) -> TokenRecord {
        sqlx::query_as::<_, TokenRecord>(
            "SELECT id, config_id, tenant_id, prefix, created_at, expires_at, last_used_at, \
                    revoked_at FROM access_tokens WHERE id = $1",
        )
        .bind(token_id)
        .fetch_one(pool)
        .await
        .unwrap()
    }

    fn assert_uuid_v7(id: &str) {
        let parsed = Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 7, "{id}");
        assert_eq!(
            parsed.hyphenated().to_string(),
            id,
            "not lowercase hyphenated"
        );
    }

    #[tokio::test]
    async fn tenant_config_token_lifecycle() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());

            let tenant = store.create_tenant("  Acme Corp ").await.unwrap();
            assert_uuid_v7(&tenant.id);
            assert_eq!(tenant.name, "Acme Corp", "names are trimmed");
            assert_eq!(store.list_tenants().await.unwrap(), vec![tenant.clone()]);

            let config = store.create_config(&tenant.id, "Okta").await.unwrap();
            assert_uuid_v7(&config.id);
            assert_eq!(config.tenant_id, tenant.id);
            assert_eq!(
                store.list_configs(&tenant.id).await.unwrap(),
                vec![config.clone()]
            );

            let (record, secret) = store.issue_token(&config.id, 0).await.unwrap();
            assert_uuid_v7(&record.id);
            assert!(token::parse(&secret).is_ok());
            assert_eq!(record.prefix, token::display_prefix(&secret));
            assert_eq!(
                (record.config_id.as_str(), record.tenant_id.as_str()),
                (config.id.as_str(), tenant.id.as_str())
            );
            assert_eq!(record.expires_at - record.created_at, Duration::days(730));
            assert_eq!((record.last_used_at, record.revoked_at), (None, None));
            assert_eq!(
                store.list_tokens(&config.id).await.unwrap(),
                vec![record.clone()]
            );

            // Only the hash is stored.
            let stored: Vec<u8> =
                sqlx::query_scalar("SELECT token_hash FROM access_tokens WHERE id = $1")
                    .bind(&record.id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(stored, token::hash_token(&secret).to_vec());

            let authenticated = store.authenticate(&secret).await.unwrap();
            assert_eq!(
                authenticated,
                AuthenticatedToken {
                    tenant_id: tenant.id.clone(),
                    config_id: config.id.clone(),
                    token_id: record.id.clone(),
                    valid_for: authenticated.valid_for,
                }
            );
            assert!(authenticated.valid_for > std::time::Duration::from_secs(729 * 24 * 3600));
            assert!(token_row(&pool, &record.id).await.last_used_at.is_some());
        })
        .await;
    }

    #[tokio::test]
    async fn wrong_tokens_are_unauthenticated() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let (_, config) = tenant_and_config(&store).await;
            let (_, secret) = store.issue_token(&config.id, 0).await.unwrap();

            let unknown = token::generate().secret;
            let mut tampered = secret.clone();
            let last = if tampered.ends_with('A') { "Q" } else { "A" };
            tampered.replace_range(tampered.len() - 1.., last);
            for candidate in [
                unknown.as_str(),
                tampered.as_str(),
                "",
                "not-a-token",
                &secret[..secret.len() - 1],
            ] {
                assert!(
                    matches!(
                        store.authenticate(candidate).await,
                        Err(AccountError::Unauthenticated)
                    ),
                    "accepted {candidate:?}"
                );
            }
            assert!(store.authenticate(&secret).await.is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn revoked_tokens_are_unauthenticated_and_rotation_overlaps() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let (_, config) = tenant_and_config(&store).await;
            let (old, old_secret) = store.issue_token(&config.id, 0).await.unwrap();
            let (new, new_secret) = store.issue_token(&config.id, 0).await.unwrap();
            assert!(store.authenticate(&old_secret).await.is_ok());
            assert!(store.authenticate(&new_secret).await.is_ok());

            let revoked = store.revoke_token(&old.id).await.unwrap();
            let revoked_at = revoked.revoked_at.expect("revocation time recorded");
            assert!(matches!(
                store.authenticate(&old_secret).await,
                Err(AccountError::Unauthenticated)
            ));
            assert_eq!(
                store.authenticate(&new_secret).await.unwrap().token_id,
                new.id,
                "revoking one token leaves its siblings alone"
            );

            let again = store.revoke_token(&old.id).await.unwrap();
            assert_eq!(
                again.revoked_at,
                Some(revoked_at),
                "revocation is idempotent"
            );

            let listed = store.list_tokens(&config.id).await.unwrap();
            assert_eq!(listed.len(), 2);
            assert_eq!(listed[0].revoked_at, Some(revoked_at));
            assert_eq!(listed[1].revoked_at, None);
        })
        .await;
    }

    #[tokio::test]
    async fn expired_tokens_are_unauthenticated() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (record, secret) = store.issue_token(&config.id, 1).await.unwrap();
            assert_eq!(record.expires_at - record.created_at, Duration::days(1));
            assert!(store.authenticate(&secret).await.is_ok());

            sqlx::query(
                "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
            )
            .bind(&record.id)
            .execute(&pool)
            .await
            .unwrap();
            assert!(matches!(
                store.authenticate(&secret).await,
                Err(AccountError::Unauthenticated)
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn last_used_is_written_at_most_once_a_minute() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (record, secret) = store.issue_token(&config.id, 0).await.unwrap();

            store.authenticate(&secret).await.unwrap();
            let first = token_row(&pool, &record.id).await.last_used_at.unwrap();
            store.authenticate(&secret).await.unwrap();
            assert_eq!(token_row(&pool, &record.id).await.last_used_at, Some(first));

            let old = first - Duration::seconds(61);
            sqlx::query("UPDATE access_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(&record.id)
                .bind(old)
                .execute(&pool)
                .await
                .unwrap();
            store.authenticate(&secret).await.unwrap();
            let refreshed = token_row(&pool, &record.id).await.last_used_at.unwrap();
            assert!(refreshed > old, "{refreshed} should be after {old}");
        })
        .await;
    }

    #[tokio::test]
    async fn duplicates_are_already_exists() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let (tenant, _) = tenant_and_config(&store).await;

            let error = store.create_tenant("Acme").await.unwrap_err();
            assert!(matches!(error, AccountError::AlreadyExists(_)), "{error:?}");
            assert_eq!(
                tonic::Status::from(error).code(),
                tonic::Code::AlreadyExists
            );
            let error = store.create_tenant(" Acme ").await.unwrap_err();
            assert!(matches!(error, AccountError::AlreadyExists(_)), "{error:?}");

            let error = store.create_config(&tenant.id, "Okta").await.unwrap_err();
            assert!(matches!(error, AccountError::AlreadyExists(_)), "{error:?}");

            // Configuration names are per tenant.
            let other = store.create_tenant("Globex").await.unwrap();
            store.create_config(&other.id, "Okta").await.unwrap();
            assert_eq!(store.list_tenants().await.unwrap().len(), 2);
        })
        .await;
    }

    #[tokio::test]
    async fn unknown_parents_are_not_found() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let missing = Uuid::now_v7().to_string();
            let (tenant, config) = tenant_and_config(&store).await;

            let not_found =
                |result: Result<_, AccountError>| matches!(result, Err(AccountError::NotFound(_)));
            assert!(not_found(
                store.create_config(&missing, "x").await.map(drop)
            ));
            assert!(not_found(store.list_configs(&missing).await.map(drop)));
            assert!(not_found(store.issue_token(&missing, 0).await.map(drop)));
            assert!(not_found(store.list_tokens(&missing).await.map(drop)));
            assert!(not_found(store.revoke_token(&missing).await.map(drop)));

            // Existing parents with no children are empty lists, not errors.
            let empty = store.create_tenant("Empty").await.unwrap();
            assert!(store.list_configs(&empty.id).await.unwrap().is_empty());
            assert!(store.list_tokens(&config.id).await.unwrap().is_empty());
            assert_eq!(store.list_configs(&tenant.id).await.unwrap().len(), 1);
        })
        .await;
    }

    #[tokio::test]
    async fn invalid_arguments_are_rejected() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let (tenant, config) = tenant_and_config(&store).await;

            let invalid = |result: Result<_, AccountError>| {
                matches!(result, Err(AccountError::InvalidArgument(_)))
            };
            assert!(invalid(store.create_tenant("").await.map(drop)));
            assert!(invalid(store.create_tenant(" \t ").await.map(drop)));
            assert!(invalid(store.create_tenant("a\nb").await.map(drop)));
            assert!(invalid(
                store
                    .create_tenant(&"x".repeat(MAX_NAME_CHARS + 1))
                    .await
                    .map(drop)
            ));
            assert!(
                store
                    .create_tenant(&"é".repeat(MAX_NAME_CHARS))
                    .await
                    .is_ok()
            );
            assert!(invalid(store.create_config(&tenant.id, "").await.map(drop)));
            assert!(invalid(store.create_config("", "Okta 2").await.map(drop)));
            assert!(invalid(store.list_configs("").await.map(drop)));
            assert!(invalid(store.issue_token("", 0).await.map(drop)));
            assert!(invalid(store.list_tokens("").await.map(drop)));
            assert!(invalid(store.revoke_token("").await.map(drop)));
            assert!(invalid(
                store
                    .issue_token(&config.id, MAX_VALID_DAYS + 1)
                    .await
                    .map(drop)
            ));
            assert!(invalid(
                store.issue_token(&config.id, u32::MAX).await.map(drop)
            ));

            let (longest, _) = store.issue_token(&config.id, MAX_VALID_DAYS).await.unwrap();
            assert_eq!(
                longest.expires_at - longest.created_at,
                Duration::days(i64::from(MAX_VALID_DAYS))
            );
        })
        .await;
    }
}
