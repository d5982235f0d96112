//! Accounts in Postgres: tenants, configurations and hashed bearer tokens.
//!
//! Every state-changing call on a configuration or a token records an admin action in the
//! outbox in its own transaction (see `admin_log`) and wakes the outbox relay after the commit.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_events::AdminActionKind;
use sqlx::{PgConnection, PgPool};
use subtle::ConstantTimeEq as _;
use tokio::sync::Notify;
use uuid::Uuid;

use super::admin_log::{self, Change, Target};
use super::error::AccountError;
use super::token;
use scim_rpc::directory::TokenRefusal;
use scim_rpc::directory::token_refusal::Reason as RefusalReason;

/// Token lifetime when the caller asks for 0 days, and the longest one allowed unless the
/// operator sets another (`TOKEN_MAX_VALID_DAYS`): two years, as LinkedIn's.
pub const DEFAULT_VALID_DAYS: u32 = 730;

/// The longest lifetime an operator may allow. Long-lived bearer secrets are a liability,
/// and an unbounded `u32` of days would overflow `timestamptz`.
pub const MAX_VALID_DAYS: u32 = 3650;

/// How long tokens may live: the operator's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The longest lifetime a token may be issued with, in days (1..=[`MAX_VALID_DAYS`]).
    pub max_valid_days: u32,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            max_valid_days: DEFAULT_VALID_DAYS,
        }
    }
}

impl TokenPolicy {
    /// A requested lifetime in days (0 = the default: [`DEFAULT_VALID_DAYS`], or the
    /// maximum when that is shorter), refused above the maximum with an error naming it.
    pub fn lifetime_days(self, valid_days: u32) -> Result<i32, AccountError> {
        let days = match valid_days {
            0 => DEFAULT_VALID_DAYS.min(self.max_valid_days),
            days => days,
        };
        i32::try_from(days)
            .ok()
            .filter(|_| days <= self.max_valid_days)
            .ok_or_else(|| {
                AccountError::InvalidArgument(format!(
                    "valid_days must be at most {} (the token lifetime limit, TOKEN_MAX_VALID_DAYS)",
                    self.max_valid_days
                ))
            })
    }
}

/// Longest accepted tenant or configuration name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Longest accepted configuration description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Longest a rotated token keeps working beside its successor: a week is enough to paste the
/// new token into an identity provider, and a leaked token should not live on for longer.
pub const MAX_ROTATION_OVERLAP_HOURS: u32 = 168;

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

/// A configuration that is not deleted (deleted ones are never returned).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConfigRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Empty when none.
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// Set while the configuration is disabled: its tokens are refused.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What `update_config` should change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub disabled: Option<bool>,
}

/// The configuration after an update, and the tokens the gateways must forget at once
/// (every token of a configuration that the update disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigUpdate {
    pub config: ConfigRecord,
    /// Tokens of the configuration refused from now on because it was disabled by this call.
    pub tokens_refused: u32,
}

/// What deleting a configuration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDeletion {
    /// Tokens that were still valid and are now revoked.
    pub tokens_revoked: u32,
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

/// A rotation's outcome: the new token (with its secret, shown once) and the old one with its
/// shortened expiry.
#[derive(Debug)]
pub struct TokenRotation {
    pub issued: TokenRecord,
    pub secret: String,
    pub previous: TokenRecord,
}

/// Users and groups in a tenant's directory (the read model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSummary {
    pub users_active: u64,
    pub users_inactive: u64,
    pub groups: u64,
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
    /// The configuration is disabled or deleted.
    config_inactive: bool,
    // The database clock, so expiry and the last-used throttle are judged
    // against the same clock that wrote `created_at` and `expires_at`.
    db_now: DateTime<Utc>,
}

/// Postgres-backed account center: tenants, SCIM configurations, tokens.
#[derive(Clone)]
pub struct AccountStore {
    pool: PgPool,
    outbox_wake: Arc<Notify>,
    token_policy: TokenPolicy,
}

impl AccountStore {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            outbox_wake: Arc::new(Notify::new()),
            token_policy: TokenPolicy::default(),
        }
    }

    pub fn with_token_policy(mut self, token_policy: TokenPolicy) -> Self {
        self.token_policy = token_policy;
        self
    }

    /// Notified after each commit that wrote admin actions to the outbox: hand it to the
    /// outbox relay.
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
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

    pub async fn get_tenant(&self, tenant_id: &str) -> Result<TenantRecord, AccountError> {
        require("tenant_id", tenant_id)?;
        sqlx::query_as::<_, TenantRecord>("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| tenant_not_found(tenant_id))
    }

    /// Users (active and inactive) and groups in the tenant's directory, in one query.
    pub async fn tenant_summary(&self, tenant_id: &str) -> Result<TenantSummary, AccountError> {
        require("tenant_id", tenant_id)?;
        let (tenant_exists, users_active, users_inactive, groups): (bool, i64, i64, i64) =
            sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1), \
                        u.active, u.inactive, \
                        (SELECT count(*) FROM groups WHERE tenant_id = $1) \
                 FROM (SELECT count(*) FILTER (WHERE active) AS active, \
                              count(*) FILTER (WHERE NOT active) AS inactive \
                       FROM users WHERE tenant_id = $1) u",
            )
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
        if !tenant_exists {
            return Err(tenant_not_found(tenant_id));
        }
        let count = |value: i64| u64::try_from(value).unwrap_or_default();
        Ok(TenantSummary {
            users_active: count(users_active),
            users_inactive: count(users_inactive),
            groups: count(groups),
        })
    }

    pub async fn create_config(
        &self,
        tenant_id: &str,
        name: &str,
        description: &str,
        admin: &str,
    ) -> Result<ConfigRecord, AccountError> {
        require("tenant_id", tenant_id)?;
        let name = validate_name("configuration name", name)?;
        let description = validate_description(description)?;
        let mut tx = self.pool.begin().await?;
        // INSERT … SELECT turns a missing tenant into "no row" instead of a
        // foreign-key error, in a single round-trip.
        let config = sqlx::query_as::<_, ConfigRecord>(
            "INSERT INTO scim_configs (id, tenant_id, name, description) \
             SELECT $1, t.id, $3, $4 FROM tenants t WHERE t.id = $2 \
             RETURNING id, tenant_id, name, description, created_at, disabled_at",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(description)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|error| {
            unique_violation_as(error, || {
                format!("tenant {tenant_id} already has a configuration named {name:?}")
            })
        })?
        .ok_or_else(|| tenant_not_found(tenant_id))?;
        let change = Change {
            kind: AdminActionKind::ConfigCreate,
            target: Target::config(&config),
            detail: None,
        };
        self.commit_with(tx, &config.tenant_id, &config.id, admin, vec![change])
            .await?;
        Ok(config)
    }

    /// The tenant's configurations, deleted ones left out.
    pub async fn list_configs(&self, tenant_id: &str) -> Result<Vec<ConfigRecord>, AccountError> {
        require("tenant_id", tenant_id)?;
        let configs = sqlx::query_as::<_, ConfigRecord>(
            "SELECT id, tenant_id, name, description, created_at, disabled_at \
             FROM scim_configs \
             WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",
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

    /// NOT_FOUND for a deleted configuration too.
    pub async fn get_config(&self, config_id: &str) -> Result<ConfigRecord, AccountError> {
        require("config_id", config_id)?;
        sqlx::query_as::<_, ConfigRecord>(
            "SELECT id, tenant_id, name, description, created_at, disabled_at \
             FROM scim_configs WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(config_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| config_not_found(config_id))
    }

    /// Renames, describes, disables or enables a configuration. Disabling refuses its tokens
    /// from the commit on (`authenticate` joins the configuration; the gateways forget their
    /// cached acceptances when the admin action reaches them). Each kind of change is one
    /// admin action; a call that changes nothing records none.
    pub async fn update_config(
        &self,
        config_id: &str,
        changes: &ConfigChanges,
        admin: &str,
    ) -> Result<ConfigUpdate, AccountError> {
        require("config_id", config_id)?;
        let name = changes
            .name
            .as_deref()
            .map(|name| validate_name("configuration name", name))
            .transpose()?;
        let description = changes
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        let mut tx = self.pool.begin().await?;
        let before = sqlx::query_as::<_, ConfigRecord>(
            "SELECT id, tenant_id, name, description, created_at, disabled_at \
             FROM scim_configs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(config_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| config_not_found(config_id))?;
        // Disabling again keeps the first time, as revoking does.
        let after = sqlx::query_as::<_, ConfigRecord>(
            "UPDATE scim_configs SET \
                 name = COALESCE($2, name), \
                 description = COALESCE($3, description), \
                 disabled_at = CASE WHEN $4 IS NULL THEN disabled_at \
                                    WHEN $4 THEN COALESCE(disabled_at, now()) \
                                    ELSE NULL END \
             WHERE id = $1 \
             RETURNING id, tenant_id, name, description, created_at, disabled_at",
        )
        .bind(config_id)
        .bind(name)
        .bind(description)
        .bind(changes.disabled)
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| {
            unique_violation_as(error, || {
                format!(
                    "tenant {} already has a configuration named {:?}",
                    before.tenant_id,
                    name.unwrap_or_default()
                )
            })
        })?;

        let mut changed = Vec::new();
        let mut edits = Vec::new();
        if after.name != before.name {
            edits.push(format!(
                "renamed from {:?} to {:?}",
                before.name, after.name
            ));
        }
        if after.description != before.description {
            edits.push("description changed".to_owned());
        }
        if !edits.is_empty() {
            changed.push(Change {
                kind: AdminActionKind::ConfigUpdate,
                target: Target::config(&after),
                detail: Some(edits.join("; ")),
            });
        }
        let mut tokens_refused = 0;
        match (before.disabled_at, after.disabled_at) {
            (None, Some(_)) => {
                tokens_refused = tokens_of(&mut tx, config_id).await?;
                changed.push(Change {
                    kind: AdminActionKind::ConfigDisable,
                    target: Target::config(&after),
                    detail: Some(format!("{tokens_refused} tokens refused")),
                });
            }
            (Some(_), None) => changed.push(Change {
                kind: AdminActionKind::ConfigEnable,
                target: Target::config(&after),
                detail: None,
            }),
            _ => {}
        }
        let actions: Vec<&'static str> = changed
            .iter()
            .map(|change| change.kind.operation())
            .collect();
        self.commit_with(tx, &after.tenant_id, &after.id, admin, changed)
            .await?;
        if !actions.is_empty() {
            tracing::info!(config_id = %after.id, tenant_id = %after.tenant_id, ?actions, "configuration updated");
        }
        Ok(ConfigUpdate {
            config: after,
            tokens_refused,
        })
    }

    /// Hides the configuration and revokes every token of it that was still valid, in one
    /// transaction. Its users and groups stay in the tenant's directory.
    pub async fn delete_config(
        &self,
        config_id: &str,
        admin: &str,
    ) -> Result<ConfigDeletion, AccountError> {
        require("config_id", config_id)?;
        let mut tx = self.pool.begin().await?;
        let config = sqlx::query_as::<_, ConfigRecord>(
            "UPDATE scim_configs SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL \
             RETURNING id, tenant_id, name, description, created_at, disabled_at",
        )
        .bind(config_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| config_not_found(config_id))?;
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE access_tokens SET revoked_at = now() \
             WHERE config_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id",
        )
        .bind(config_id)
        .fetch_all(&mut *tx)
        .await?;
        let tokens_revoked = u32::try_from(revoked.len()).unwrap_or(u32::MAX);
        let change = Change {
            kind: AdminActionKind::ConfigDelete,
            target: Target::config(&config),
            detail: Some(format!("{tokens_revoked} tokens revoked")),
        };
        self.commit_with(tx, &config.tenant_id, &config.id, admin, vec![change])
            .await?;
        tracing::info!(
            %config_id,
            tenant_id = %config.tenant_id,
            tokens_revoked,
            "configuration deleted"
        );
        Ok(ConfigDeletion { tokens_revoked })
    }

    /// Mints a token for `config_id`; `valid_days == 0` means
    /// [`DEFAULT_VALID_DAYS`]. The returned secret exists nowhere else.
    pub async fn issue_token(
        &self,
        config_id: &str,
        valid_days: u32,
        admin: &str,
    ) -> Result<(TokenRecord, String), AccountError> {
        require("config_id", config_id)?;
        let days = self.token_policy.lifetime_days(valid_days)?;
        let mut tx = self.pool.begin().await?;
        let (record, secret) = insert_token(&mut tx, config_id, days)
            .await?
            .ok_or_else(|| config_not_found(config_id))?;
        let change = Change {
            kind: AdminActionKind::TokenIssue,
            target: Target::token(&record),
            detail: Some(format!("valid {days} days")),
        };
        self.commit_with(
            tx,
            &record.tenant_id,
            &record.config_id,
            admin,
            vec![change],
        )
        .await?;
        tracing::info!(
            token_id = %record.id,
            config_id = %record.config_id,
            tenant_id = %record.tenant_id,
            expires_at = %record.expires_at,
            "access token issued"
        );
        Ok((record, secret))
    }

    /// Issues a successor of `token_id` for the same configuration and ends the old token at
    /// `now + overlap_hours` at the latest (never later than it would have), in one
    /// transaction. A revoked or expired token cannot be rotated: issue a new one.
    pub async fn rotate_token(
        &self,
        token_id: &str,
        overlap_hours: u32,
        valid_days: u32,
        admin: &str,
    ) -> Result<TokenRotation, AccountError> {
        require("token_id", token_id)?;
        if overlap_hours > MAX_ROTATION_OVERLAP_HOURS {
            return Err(AccountError::InvalidArgument(format!(
                "overlap_hours must be at most {MAX_ROTATION_OVERLAP_HOURS}"
            )));
        }
        let days = self.token_policy.lifetime_days(valid_days)?;
        let mut tx = self.pool.begin().await?;
        let (old, db_now) = live_token_for_update(&mut tx, token_id).await?;
        if old.revoked_at.is_some() || old.expires_at <= db_now {
            return Err(AccountError::FailedPrecondition(format!(
                "token {token_id} is revoked or expired; issue a new token instead"
            )));
        }
        // Whole hours as an integer: `make_interval(hours => …)` is exact, unlike days.
        let previous = sqlx::query_as::<_, TokenRecord>(
            "UPDATE access_tokens \
             SET expires_at = LEAST(expires_at, now() + make_interval(hours => $2)) \
             WHERE id = $1 \
             RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                       last_used_at, revoked_at",
        )
        .bind(token_id)
        .bind(i32::try_from(overlap_hours).unwrap_or(i32::MAX))
        .fetch_one(&mut *tx)
        .await?;
        let (issued, secret) = insert_token(&mut tx, &old.config_id, days)
            .await?
            .ok_or_else(|| config_not_found(&old.config_id))?;
        let change = Change {
            kind: AdminActionKind::TokenRotate,
            target: Target::token(&previous),
            detail: Some(format!(
                "replaced by token {} ({}); the old one works {overlap_hours} h more",
                issued.id, issued.prefix
            )),
        };
        self.commit_with(
            tx,
            &issued.tenant_id,
            &issued.config_id,
            admin,
            vec![change],
        )
        .await?;
        tracing::info!(
            token_id = %previous.id,
            successor = %issued.id,
            config_id = %issued.config_id,
            old_expires_at = %previous.expires_at,
            "access token rotated"
        );
        Ok(TokenRotation {
            issued,
            secret,
            previous,
        })
    }

    /// The configuration's tokens; NOT_FOUND for a deleted configuration.
    pub async fn list_tokens(&self, config_id: &str) -> Result<Vec<TokenRecord>, AccountError> {
        require("config_id", config_id)?;
        let tokens = sqlx::query_as::<_, TokenRecord>(
            "SELECT t.id, t.config_id, t.tenant_id, t.prefix, t.created_at, t.expires_at, \
                    t.last_used_at, t.revoked_at \
             FROM access_tokens t JOIN scim_configs c ON c.id = t.config_id \
             WHERE t.config_id = $1 AND c.deleted_at IS NULL \
             ORDER BY t.created_at, t.id",
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
    /// revocation time and records no second admin action.
    pub async fn revoke_token(
        &self,
        token_id: &str,
        admin: &str,
    ) -> Result<TokenRecord, AccountError> {
        require("token_id", token_id)?;
        let mut tx = self.pool.begin().await?;
        let (current, _) = live_token_for_update(&mut tx, token_id).await?;
        if current.revoked_at.is_some() {
            return Ok(current);
        }
        let record = sqlx::query_as::<_, TokenRecord>(
            "UPDATE access_tokens SET revoked_at = now() WHERE id = $1 \
             RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                       last_used_at, revoked_at",
        )
        .bind(token_id)
        .fetch_one(&mut *tx)
        .await?;
        let change = Change {
            kind: AdminActionKind::TokenRevoke,
            target: Target::token(&record),
            detail: None,
        };
        self.commit_with(
            tx,
            &record.tenant_id,
            &record.config_id,
            admin,
            vec![change],
        )
        .await?;
        tracing::info!(
            token_id = %record.id,
            config_id = %record.config_id,
            tenant_id = %record.tenant_id,
            "access token revoked"
        );
        Ok(record)
    }

    /// Revokes every token of `config_id` that is still valid, in one transaction, each
    /// recorded as its own admin action (the configuration stays enabled: an admin who fears a
    /// leak revokes everything and issues a new token). Returns the revoked tokens; none when
    /// none was valid. The configuration must exist and not be deleted.
    pub async fn revoke_config_tokens(
        &self,
        config_id: &str,
        admin: &str,
    ) -> Result<Vec<TokenRecord>, AccountError> {
        require("config_id", config_id)?;
        let mut tx = self.pool.begin().await?;
        let tenant_id: String = sqlx::query_scalar(
            "SELECT tenant_id FROM scim_configs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(config_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| config_not_found(config_id))?;
        let revoked = sqlx::query_as::<_, TokenRecord>(
            "UPDATE access_tokens SET revoked_at = now() \
             WHERE config_id = $1 AND revoked_at IS NULL AND expires_at > now() \
             RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                       last_used_at, revoked_at",
        )
        .bind(config_id)
        .fetch_all(&mut *tx)
        .await?;
        let changes = revoked
            .iter()
            .map(|record| Change {
                kind: AdminActionKind::TokenRevoke,
                target: Target::token(record),
                detail: Some("all tokens of the configuration revoked".to_owned()),
            })
            .collect();
        self.commit_with(tx, &tenant_id, config_id, admin, changes)
            .await?;
        tracing::info!(
            %config_id,
            %tenant_id,
            tokens_revoked = revoked.len(),
            "all access tokens of a configuration revoked"
        );
        Ok(revoked)
    }

    /// Resolves a bearer token. A malformed token yields [`AccountError::Unauthenticated`];
    /// a well-formed one that is unknown, revoked or expired, or of a disabled or deleted
    /// configuration, [`AccountError::TokenRefused`] saying why and, if known, whose it is.
    pub async fn authenticate(&self, secret: &str) -> Result<AuthenticatedToken, AccountError> {
        let parsed = token::parse(secret).map_err(|_| AccountError::Unauthenticated)?;
        let hash = parsed.hash();
        // Looking up by hash leaks no timing information about the secret:
        // steering the index search would need SHA-256 preimages. The
        // configuration comes along by its primary key: still one round trip.
        let row = sqlx::query_as::<_, AuthRow>(
            "SELECT t.id, t.config_id, t.tenant_id, t.token_hash, t.expires_at, \
                    t.last_used_at, t.revoked_at, \
                    (c.disabled_at IS NOT NULL OR c.deleted_at IS NOT NULL) AS config_inactive, \
                    now() AS db_now \
             FROM access_tokens t JOIN scim_configs c ON c.id = t.config_id \
             WHERE t.token_hash = $1",
        )
        .bind(&hash[..])
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            tracing::debug!(prefix = parsed.display_prefix(), "unknown access token");
            return Err(AccountError::TokenRefused(TokenRefusal {
                prefix: parsed.display_prefix().to_owned(),
                reason: RefusalReason::Unknown.into(),
                ..TokenRefusal::default()
            }));
        };
        // Redundant with the equality lookup, but keeps the check correct
        // should the lookup ever become a prefix or partial match.
        if !bool::from(row.token_hash.as_slice().ct_eq(&hash[..])) {
            return Err(AccountError::Unauthenticated);
        }
        let refused = if row.revoked_at.is_some() {
            Some(RefusalReason::Revoked)
        } else if row.config_inactive {
            Some(RefusalReason::ConfigurationDisabled)
        } else if row.expires_at <= row.db_now {
            Some(RefusalReason::Expired)
        } else {
            None
        };
        if let Some(reason) = refused {
            tracing::debug!(token_id = %row.id, config_id = %row.config_id, ?reason, "refused access token presented");
            return Err(AccountError::TokenRefused(TokenRefusal {
                tenant_id: row.tenant_id,
                config_id: row.config_id,
                token_id: row.id,
                prefix: parsed.display_prefix().to_owned(),
                reason: reason.into(),
            }));
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

    /// Records `changes` as admin actions on the configuration, commits, and wakes the relay.
    async fn commit_with(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        tenant_id: &str,
        config_id: &str,
        admin: &str,
        changes: Vec<Change>,
    ) -> Result<(), AccountError> {
        let recorded = !changes.is_empty();
        for change in changes {
            admin_log::record(&mut tx, tenant_id, config_id, admin, change).await?;
        }
        tx.commit().await?;
        if recorded {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    async fn exists(&self, kind: Parent, id: &str) -> Result<bool, AccountError> {
        let sql = match kind {
            Parent::Tenant => "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)",
            Parent::Config => {
                "SELECT EXISTS (SELECT 1 FROM scim_configs WHERE id = $1 AND deleted_at IS NULL)"
            }
        };
        Ok(sqlx::query_scalar::<_, bool>(sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }
}

/// Inserts a new token for a configuration that is not deleted; `None` when there is none.
async fn insert_token(
    conn: &mut PgConnection,
    config_id: &str,
    days: i32,
) -> Result<Option<(TokenRecord, String)>, AccountError> {
    let generated = token::generate();
    // Both timestamps come from the same now(), so the lifetime is exact.
    // Hours rather than days: a day interval follows the session time
    // zone's calendar, which would stretch or shrink it across DST.
    let record = sqlx::query_as::<_, TokenRecord>(
        "INSERT INTO access_tokens (id, config_id, tenant_id, token_hash, prefix, expires_at) \
         SELECT $1, c.id, c.tenant_id, $3, $4, now() + make_interval(hours => $5 * 24) \
         FROM scim_configs c WHERE c.id = $2 AND c.deleted_at IS NULL \
         RETURNING id, config_id, tenant_id, prefix, created_at, expires_at, \
                   last_used_at, revoked_at",
    )
    .bind(new_id())
    .bind(config_id)
    .bind(&generated.hash[..])
    .bind(&generated.prefix)
    .bind(days)
    .fetch_optional(conn)
    .await?;
    Ok(record.map(|record| (record, generated.secret)))
}

/// A token of a configuration that is not deleted, locked for the transaction, and the
/// database's now; NOT_FOUND otherwise.
async fn live_token_for_update(
    conn: &mut PgConnection,
    token_id: &str,
) -> Result<(TokenRecord, DateTime<Utc>), AccountError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        token: TokenRecord,
        db_now: DateTime<Utc>,
    }
    sqlx::query_as::<_, Row>(
        "SELECT t.id, t.config_id, t.tenant_id, t.prefix, t.created_at, t.expires_at, \
                t.last_used_at, t.revoked_at, now() AS db_now \
         FROM access_tokens t JOIN scim_configs c ON c.id = t.config_id \
         WHERE t.id = $1 AND c.deleted_at IS NULL \
         FOR UPDATE OF t",
    )
    .bind(token_id)
    .fetch_optional(conn)
    .await?
    .map(|row| (row.token, row.db_now))
    .ok_or_else(|| AccountError::NotFound(format!("token {token_id} not found")))
}

/// How many tokens a configuration has, whatever their state.
async fn tokens_of(conn: &mut PgConnection, config_id: &str) -> Result<u32, AccountError> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM access_tokens WHERE config_id = $1")
        .bind(config_id)
        .fetch_one(conn)
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
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

/// Trims and checks a configuration's description (empty allowed); returns the form to store.
/// Line breaks and tabs are text in a description; other control characters are not.
fn validate_description(description: &str) -> Result<&str, AccountError> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AccountError::InvalidArgument(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AccountError::InvalidArgument(
            "description must not contain control characters other than line breaks and tabs"
                .to_owned(),
        ));
    }
    Ok(description)
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

    const ADMIN: &str = "admin:a1:ada@example.com";

    async fn tenant_and_config(store: &AccountStore) -> (TenantRecord, ConfigRecord) {
        let tenant = store.create_tenant("Acme").await.unwrap();
        let config = store
            .create_config(&tenant.id, "Okta", "", ADMIN)
            .await
            .unwrap();
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

            let config = store
                .create_config(&tenant.id, "Okta", "", ADMIN)
                .await
                .unwrap();
            assert_uuid_v7(&config.id);
            assert_eq!(config.tenant_id, tenant.id);
            assert_eq!(
                store.list_configs(&tenant.id).await.unwrap(),
                vec![config.clone()]
            );

            let (record, secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
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
            let (_, secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();

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
                match store.authenticate(candidate).await {
                    Err(AccountError::Unauthenticated) => {}
                    Err(AccountError::TokenRefused(refusal)) => {
                        // Well-formed but not issued here: nobody's token.
                        assert_eq!(refusal.reason(), RefusalReason::Unknown, "{candidate:?}");
                        assert_eq!(refusal.tenant_id, "");
                        assert_eq!(refusal.prefix, token::display_prefix(candidate));
                    }
                    other => panic!("accepted {candidate:?}: {other:?}"),
                }
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
            let (old, old_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            let (new, new_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            assert!(store.authenticate(&old_secret).await.is_ok());
            assert!(store.authenticate(&new_secret).await.is_ok());

            let revoked = store.revoke_token(&old.id, ADMIN).await.unwrap();
            let revoked_at = revoked.revoked_at.expect("revocation time recorded");
            match store.authenticate(&old_secret).await {
                Err(AccountError::TokenRefused(refusal)) => {
                    assert_eq!(refusal.reason(), RefusalReason::Revoked);
                    assert_eq!(refusal.token_id, old.id);
                    assert_eq!(refusal.config_id, config.id);
                    assert_eq!(refusal.prefix, old.prefix);
                    assert_eq!(refusal.prefix, token::display_prefix(&old_secret));
                }
                other => panic!("a revoked token must be refused as such: {other:?}"),
            }
            assert_eq!(
                store.authenticate(&new_secret).await.unwrap().token_id,
                new.id,
                "revoking one token leaves its siblings alone"
            );

            let again = store.revoke_token(&old.id, ADMIN).await.unwrap();
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
            let (record, secret) = store.issue_token(&config.id, 1, ADMIN).await.unwrap();
            assert_eq!(record.expires_at - record.created_at, Duration::days(1));
            assert!(store.authenticate(&secret).await.is_ok());

            sqlx::query(
                "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
            )
            .bind(&record.id)
            .execute(&pool)
            .await
            .unwrap();
            match store.authenticate(&secret).await {
                Err(AccountError::TokenRefused(refusal)) => {
                    assert_eq!(refusal.reason(), RefusalReason::Expired);
                    assert_eq!(refusal.tenant_id, config.tenant_id);
                }
                other => panic!("an expired token must be refused as such: {other:?}"),
            }
        })
        .await;
    }

    #[tokio::test]
    async fn last_used_is_written_at_most_once_a_minute() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (record, secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();

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

            let error = store
                .create_config(&tenant.id, "Okta", "", ADMIN)
                .await
                .unwrap_err();
            assert!(matches!(error, AccountError::AlreadyExists(_)), "{error:?}");

            // Configuration names are per tenant.
            let other = store.create_tenant("Globex").await.unwrap();
            store
                .create_config(&other.id, "Okta", "", ADMIN)
                .await
                .unwrap();
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
                store
                    .create_config(&missing, "x", "", ADMIN)
                    .await
                    .map(drop)
            ));
            assert!(not_found(store.list_configs(&missing).await.map(drop)));
            assert!(not_found(
                store.issue_token(&missing, 0, ADMIN).await.map(drop)
            ));
            assert!(not_found(store.list_tokens(&missing).await.map(drop)));
            assert!(not_found(
                store.revoke_token(&missing, ADMIN).await.map(drop)
            ));

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
            assert!(invalid(
                store
                    .create_config(&tenant.id, "", "", ADMIN)
                    .await
                    .map(drop)
            ));
            assert!(invalid(
                store.create_config("", "Okta 2", "", ADMIN).await.map(drop)
            ));
            assert!(invalid(store.list_configs("").await.map(drop)));
            assert!(invalid(store.issue_token("", 0, ADMIN).await.map(drop)));
            assert!(invalid(store.list_tokens("").await.map(drop)));
            assert!(invalid(store.revoke_token("", ADMIN).await.map(drop)));
            assert!(invalid(
                store
                    .issue_token(&config.id, MAX_VALID_DAYS + 1, ADMIN)
                    .await
                    .map(drop)
            ));
            assert!(invalid(
                store
                    .issue_token(&config.id, u32::MAX, ADMIN)
                    .await
                    .map(drop)
            ));

            // The longest lifetime an operator may allow.
            let (longest, _) = store
                .clone()
                .with_token_policy(TokenPolicy {
                    max_valid_days: MAX_VALID_DAYS,
                })
                .issue_token(&config.id, MAX_VALID_DAYS, ADMIN)
                .await
                .unwrap();
            assert_eq!(
                longest.expires_at - longest.created_at,
                Duration::days(i64::from(MAX_VALID_DAYS))
            );
        })
        .await;
    }

    fn action(event: &scim_events::EventEnvelope) -> &scim_events::AdminAction {
        match &event.payload {
            scim_events::EventPayload::AdminActionTaken(action) => action,
            other => panic!("not an admin action: {other:?}"),
        }
    }

    /// The admin actions waiting in the outbox, oldest first.
    async fn outbox(pool: &PgPool) -> Vec<scim_events::EventEnvelope> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT event::text FROM outbox ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
        rows.iter()
            .map(|row| scim_events::EventEnvelope::from_json(row.as_bytes()).unwrap())
            .collect()
    }

    async fn kinds(pool: &PgPool) -> Vec<AdminActionKind> {
        outbox(pool)
            .await
            .iter()
            .map(|event| action(event).action)
            .collect()
    }

    fn disable() -> ConfigChanges {
        ConfigChanges {
            disabled: Some(true),
            ..ConfigChanges::default()
        }
    }

    fn enable() -> ConfigChanges {
        ConfigChanges {
            disabled: Some(false),
            ..ConfigChanges::default()
        }
    }

    async fn refused(store: &AccountStore, secret: &str) -> bool {
        store
            .authenticate(secret)
            .await
            .is_err_and(|error| error.is_unauthenticated())
    }

    async fn expire(pool: &PgPool, token_id: &str) {
        sqlx::query(
            "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        )
        .bind(token_id)
        .execute(pool)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn descriptions_are_trimmed_and_checked_like_names() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let tenant = store.create_tenant("Acme").await.unwrap();
            let config = store
                .create_config(&tenant.id, "Okta", "  EU org\n\tprovisioning only ", ADMIN)
                .await
                .unwrap();
            assert_eq!(config.description, "EU org\n\tprovisioning only");
            assert_eq!(config.disabled_at, None);
            assert_eq!(store.get_config(&config.id).await.unwrap(), config);

            let invalid = |result: Result<_, AccountError>| {
                matches!(result, Err(AccountError::InvalidArgument(_)))
            };
            for bad in [
                "x".repeat(MAX_DESCRIPTION_CHARS + 1),
                "bell\u{7}".to_owned(),
                "carriage\rreturn".to_owned(),
                "nul\u{0}".to_owned(),
            ] {
                assert!(
                    invalid(
                        store
                            .create_config(&tenant.id, "Entra", &bad, ADMIN)
                            .await
                            .map(drop)
                    ),
                    "{bad:?}"
                );
                let changes = ConfigChanges {
                    description: Some(bad.clone()),
                    ..ConfigChanges::default()
                };
                assert!(
                    invalid(
                        store
                            .update_config(&config.id, &changes, ADMIN)
                            .await
                            .map(drop)
                    ),
                    "{bad:?}"
                );
            }
            let longest = store
                .create_config(
                    &tenant.id,
                    "Entra",
                    &"é".repeat(MAX_DESCRIPTION_CHARS),
                    ADMIN,
                )
                .await
                .unwrap();
            assert_eq!(longest.description.chars().count(), MAX_DESCRIPTION_CHARS);
        })
        .await;
    }

    #[tokio::test]
    async fn tenants_and_configurations_are_fetched_by_id() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool);
            let (tenant, config) = tenant_and_config(&store).await;
            assert_eq!(store.get_tenant(&tenant.id).await.unwrap(), tenant);
            assert_eq!(store.get_config(&config.id).await.unwrap(), config);
            let missing = Uuid::now_v7().to_string();
            assert!(matches!(
                store.get_tenant(&missing).await,
                Err(AccountError::NotFound(_))
            ));
            assert!(matches!(
                store.get_config(&missing).await,
                Err(AccountError::NotFound(_))
            ));
            assert!(matches!(
                store.get_tenant("").await,
                Err(AccountError::InvalidArgument(_))
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn updates_rename_and_describe_and_refuse_a_taken_name() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (tenant, config) = tenant_and_config(&store).await;
            store
                .create_config(&tenant.id, "Entra", "", ADMIN)
                .await
                .unwrap();
            let before = kinds(&pool).await.len();

            let taken = ConfigChanges {
                name: Some(" Entra ".into()),
                ..ConfigChanges::default()
            };
            let error = store
                .update_config(&config.id, &taken, ADMIN)
                .await
                .unwrap_err();
            assert!(matches!(error, AccountError::AlreadyExists(_)), "{error:?}");
            assert_eq!(
                kinds(&pool).await.len(),
                before,
                "a refused change is not recorded"
            );

            let changes = ConfigChanges {
                name: Some(" Okta EU ".into()),
                description: Some("EU tenant".into()),
                disabled: None,
            };
            let update = store
                .update_config(&config.id, &changes, ADMIN)
                .await
                .unwrap();
            assert_eq!(update.config.name, "Okta EU");
            assert_eq!(update.config.description, "EU tenant");
            assert_eq!(update.config.disabled_at, None);
            assert_eq!(update.tokens_refused, 0);
            assert_eq!(store.get_config(&config.id).await.unwrap(), update.config);
            let events = outbox(&pool).await;
            let recorded = action(events.last().unwrap());
            assert_eq!(recorded.action, AdminActionKind::ConfigUpdate);
            assert_eq!(recorded.target_name.as_deref(), Some("Okta EU"));
            assert_eq!(
                recorded.detail.as_deref(),
                Some("renamed from \"Okta\" to \"Okta EU\"; description changed")
            );

            // Unset fields stay; setting what is already there records nothing.
            let same = ConfigChanges {
                name: Some("Okta EU".into()),
                ..ConfigChanges::default()
            };
            let unchanged = store.update_config(&config.id, &same, ADMIN).await.unwrap();
            assert_eq!(unchanged.config, update.config);
            let nothing = store
                .update_config(&config.id, &ConfigChanges::default(), ADMIN)
                .await
                .unwrap();
            assert_eq!(nothing.config, update.config);
            assert_eq!(kinds(&pool).await.len(), before + 1);
        })
        .await;
    }

    #[tokio::test]
    async fn disabled_configurations_refuse_their_tokens_until_enabled() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (valid, valid_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            let (revoked, revoked_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            store.revoke_token(&revoked.id, ADMIN).await.unwrap();
            let (expired, expired_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            expire(&pool, &expired.id).await;
            // A sibling configuration is not affected.
            let other = store
                .create_config(&config.tenant_id, "Entra", "", ADMIN)
                .await
                .unwrap();
            let (_, other_secret) = store.issue_token(&other.id, 0, ADMIN).await.unwrap();
            assert!(store.authenticate(&valid_secret).await.is_ok());

            let disabled = store
                .update_config(&config.id, &disable(), ADMIN)
                .await
                .unwrap();
            let disabled_at = disabled.config.disabled_at.expect("disabled");
            assert_eq!(disabled.tokens_refused, 3);
            assert!(refused(&store, &valid_secret).await);
            assert!(store.authenticate(&other_secret).await.is_ok());
            assert_eq!(
                store.get_config(&config.id).await.unwrap().disabled_at,
                Some(disabled_at)
            );

            // Disabling again keeps the first time and has nothing new to announce.
            let again = store
                .update_config(&config.id, &disable(), ADMIN)
                .await
                .unwrap();
            assert_eq!(again.config.disabled_at, Some(disabled_at));
            assert_eq!(again.tokens_refused, 0);

            let enabled = store
                .update_config(&config.id, &enable(), ADMIN)
                .await
                .unwrap();
            assert_eq!(enabled.config.disabled_at, None);
            assert_eq!(enabled.tokens_refused, 0);
            assert_eq!(
                store.authenticate(&valid_secret).await.unwrap().token_id,
                valid.id
            );
            assert!(refused(&store, &revoked_secret).await, "still revoked");
            assert!(refused(&store, &expired_secret).await, "still expired");

            let recorded: Vec<_> = outbox(&pool)
                .await
                .iter()
                .filter(|event| event.aggregate_id == config.id)
                .map(|event| (action(event).action, action(event).detail.clone()))
                .collect();
            assert_eq!(
                recorded[recorded.len() - 2..],
                [
                    (
                        AdminActionKind::ConfigDisable,
                        Some("3 tokens refused".to_owned())
                    ),
                    (AdminActionKind::ConfigEnable, None),
                ]
            );
        })
        .await;
    }

    #[tokio::test]
    async fn deleting_hides_the_configuration_and_revokes_its_valid_tokens() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (tenant, config) = tenant_and_config(&store).await;
            let (valid, valid_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            let (revoked, _) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            let revoked_at = store
                .revoke_token(&revoked.id, ADMIN)
                .await
                .unwrap()
                .revoked_at;
            let (expired, _) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            expire(&pool, &expired.id).await;

            let deletion = store.delete_config(&config.id, ADMIN).await.unwrap();
            assert_eq!(deletion.tokens_revoked, 1);
            assert!(refused(&store, &valid_secret).await);
            assert!(token_row(&pool, &valid.id).await.revoked_at.is_some());
            assert_eq!(token_row(&pool, &revoked.id).await.revoked_at, revoked_at);
            assert_eq!(token_row(&pool, &expired.id).await.revoked_at, None);

            let not_found =
                |result: Result<_, AccountError>| matches!(result, Err(AccountError::NotFound(_)));
            assert!(store.list_configs(&tenant.id).await.unwrap().is_empty());
            assert!(not_found(store.get_config(&config.id).await.map(drop)));
            assert!(not_found(
                store
                    .update_config(&config.id, &enable(), ADMIN)
                    .await
                    .map(drop)
            ));
            assert!(not_found(
                store.delete_config(&config.id, ADMIN).await.map(drop)
            ));
            assert!(not_found(
                store.issue_token(&config.id, 0, ADMIN).await.map(drop)
            ));
            assert!(not_found(store.list_tokens(&config.id).await.map(drop)));
            assert!(not_found(
                store.revoke_token(&valid.id, ADMIN).await.map(drop)
            ));
            assert!(not_found(
                store.rotate_token(&valid.id, 0, 0, ADMIN).await.map(drop)
            ));

            let last = outbox(&pool).await.pop().unwrap();
            assert_eq!(action(&last).action, AdminActionKind::ConfigDelete);
            assert_eq!(action(&last).detail.as_deref(), Some("1 tokens revoked"));

            // The name is free again; the deleted row stays for the record.
            let successor = store
                .create_config(&tenant.id, "Okta", "", ADMIN)
                .await
                .unwrap();
            assert_ne!(successor.id, config.id);
            assert_eq!(
                store.list_configs(&tenant.id).await.unwrap(),
                vec![successor]
            );
        })
        .await;
    }

    #[tokio::test]
    async fn rotation_shortens_the_old_token_and_issues_a_successor() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (old, old_secret) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();

            let rotation = store.rotate_token(&old.id, 48, 90, ADMIN).await.unwrap();
            assert_eq!(rotation.previous.id, old.id);
            assert_eq!(rotation.issued.config_id, config.id);
            assert_ne!(rotation.issued.id, old.id);
            // One transaction, one now(): the successor's creation is the rotation's time.
            assert_eq!(
                rotation.previous.expires_at,
                rotation.issued.created_at + Duration::hours(48)
            );
            assert_eq!(
                rotation.issued.expires_at - rotation.issued.created_at,
                Duration::days(90)
            );
            assert_eq!(token_row(&pool, &old.id).await, rotation.previous);
            assert_eq!(
                store.authenticate(&rotation.secret).await.unwrap().token_id,
                rotation.issued.id
            );
            assert!(store.authenticate(&old_secret).await.is_ok(), "overlap");
            let recorded = outbox(&pool).await.pop().unwrap();
            assert_eq!(action(&recorded).action, AdminActionKind::TokenRotate);
            assert_eq!(action(&recorded).target_id, old.id);
            assert_eq!(
                action(&recorded).target_name.as_deref(),
                Some(old.prefix.as_str())
            );
            assert!(
                action(&recorded)
                    .detail
                    .as_deref()
                    .is_some_and(|detail| detail.contains(&rotation.issued.id)),
                "{recorded:?}"
            );

            // Never lengthened: a token with a day left keeps its day under a week's overlap.
            let (short, _) = store.issue_token(&config.id, 1, ADMIN).await.unwrap();
            let kept = store
                .rotate_token(&short.id, MAX_ROTATION_OVERLAP_HOURS, 0, ADMIN)
                .await
                .unwrap();
            assert_eq!(kept.previous.expires_at, short.expires_at);
            assert_eq!(
                kept.issued.expires_at - kept.issued.created_at,
                Duration::days(i64::from(DEFAULT_VALID_DAYS))
            );

            // No overlap ends the old token now.
            let ended = store
                .rotate_token(&rotation.issued.id, 0, 0, ADMIN)
                .await
                .unwrap();
            assert!(refused(&store, &rotation.secret).await);
            assert!(store.authenticate(&ended.secret).await.is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn only_live_tokens_rotate_within_the_bounds() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (_, config) = tenant_and_config(&store).await;
            let (token, _) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            let tokens_before = store.list_tokens(&config.id).await.unwrap();
            let recorded_before = kinds(&pool).await.len();

            let error = store
                .rotate_token(&token.id, MAX_ROTATION_OVERLAP_HOURS + 1, 0, ADMIN)
                .await
                .unwrap_err();
            assert!(
                matches!(error, AccountError::InvalidArgument(_)),
                "{error:?}"
            );
            let error = store
                .rotate_token(&token.id, 0, MAX_VALID_DAYS + 1, ADMIN)
                .await
                .unwrap_err();
            assert!(
                matches!(error, AccountError::InvalidArgument(_)),
                "{error:?}"
            );
            let error = store.rotate_token("", 0, 0, ADMIN).await.unwrap_err();
            assert!(
                matches!(error, AccountError::InvalidArgument(_)),
                "{error:?}"
            );
            let error = store
                .rotate_token(&Uuid::now_v7().to_string(), 0, 0, ADMIN)
                .await
                .unwrap_err();
            assert!(matches!(error, AccountError::NotFound(_)), "{error:?}");

            let (expired, _) = store.issue_token(&config.id, 0, ADMIN).await.unwrap();
            expire(&pool, &expired.id).await;
            let error = store
                .rotate_token(&expired.id, 24, 0, ADMIN)
                .await
                .unwrap_err();
            assert!(
                matches!(error, AccountError::FailedPrecondition(_)),
                "{error:?}"
            );
            store.revoke_token(&token.id, ADMIN).await.unwrap();
            let error = store
                .rotate_token(&token.id, 24, 0, ADMIN)
                .await
                .unwrap_err();
            assert!(
                matches!(error, AccountError::FailedPrecondition(_)),
                "{error:?}"
            );
            assert_eq!(
                tonic::Status::from(error).code(),
                tonic::Code::FailedPrecondition
            );

            // Nothing was issued by the refused rotations.
            assert_eq!(
                store.list_tokens(&config.id).await.unwrap().len(),
                tokens_before.len() + 1
            );
            assert_eq!(
                kinds(&pool).await[recorded_before..],
                [AdminActionKind::TokenIssue, AdminActionKind::TokenRevoke]
            );
        })
        .await;
    }

    #[tokio::test]
    async fn the_summary_counts_the_tenants_directory() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let (tenant, _) = tenant_and_config(&store).await;
            let other = store.create_tenant("Globex").await.unwrap();
            let user = |tenant_id: &str, id: &str, active: bool| {
                let pool = pool.clone();
                let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
                async move {
                    sqlx::query(
                        "INSERT INTO users (tenant_id, id, user_name, user_name_lower, active, \
                                            resource, version, created, last_modified) \
                         VALUES ($1, $2, $2, $2, $3, '{}', 1, now(), now())",
                    )
                    .bind(tenant_id)
                    .bind(id)
                    .bind(active)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
            };
            let group = |tenant_id: &str, id: &str| {
                let pool = pool.clone();
                let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
                async move {
                    sqlx::query(
                        "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, \
                                             resource, version, created, last_modified) \
                         VALUES ($1, $2, $2, $2, '{}', 1, now(), now())",
                    )
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&pool)
                    .await
                    .unwrap();
                }
            };
            assert_eq!(
                store.tenant_summary(&tenant.id).await.unwrap(),
                TenantSummary {
                    users_active: 0,
                    users_inactive: 0,
                    groups: 0
                }
            );
            for id in ["u1", "u2", "u3"] {
                user(&tenant.id, id, true).await;
            }
            user(&tenant.id, "u4", false).await;
            group(&tenant.id, "g1").await;
            group(&tenant.id, "g2").await;
            user(&other.id, "u1", false).await;
            group(&other.id, "g1").await;

            assert_eq!(
                store.tenant_summary(&tenant.id).await.unwrap(),
                TenantSummary {
                    users_active: 3,
                    users_inactive: 1,
                    groups: 2
                }
            );
            assert_eq!(
                store.tenant_summary(&other.id).await.unwrap(),
                TenantSummary {
                    users_active: 0,
                    users_inactive: 1,
                    groups: 1
                }
            );
            assert!(matches!(
                store.tenant_summary(&Uuid::now_v7().to_string()).await,
                Err(AccountError::NotFound(_))
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn every_change_is_recorded_with_its_target_and_admin() {
        with_database(|pool| async move {
            let store = AccountStore::new(pool.clone());
            let tenant = store.create_tenant("Acme").await.unwrap();
            assert!(
                outbox(&pool).await.is_empty(),
                "tenants are not configurations"
            );
            let config = store
                .create_config(&tenant.id, "Okta", "", ADMIN)
                .await
                .unwrap();
            let (token, _) = store.issue_token(&config.id, 30, ADMIN).await.unwrap();
            let rotation = store.rotate_token(&token.id, 24, 0, ADMIN).await.unwrap();
            store
                .revoke_token(&rotation.issued.id, ADMIN)
                .await
                .unwrap();
            store
                .revoke_token(&rotation.issued.id, "operator")
                .await
                .unwrap();
            let rename = ConfigChanges {
                name: Some("Okta EU".into()),
                disabled: Some(true),
                ..ConfigChanges::default()
            };
            store
                .update_config(&config.id, &rename, ADMIN)
                .await
                .unwrap();
            store
                .update_config(&config.id, &enable(), "operator")
                .await
                .unwrap();
            store.delete_config(&config.id, "operator").await.unwrap();

            let events = outbox(&pool).await;
            let summary: Vec<_> = events
                .iter()
                .map(|event| {
                    let action = action(event);
                    (
                        action.action,
                        action.target_type.as_str(),
                        action.target_id.as_str(),
                        action.target_name.as_deref().unwrap_or_default(),
                        event.actor.admin.as_deref().unwrap_or_default(),
                    )
                })
                .collect();
            assert_eq!(
                summary,
                [
                    (
                        AdminActionKind::ConfigCreate,
                        "config",
                        config.id.as_str(),
                        "Okta",
                        ADMIN
                    ),
                    (
                        AdminActionKind::TokenIssue,
                        "token",
                        token.id.as_str(),
                        token.prefix.as_str(),
                        ADMIN
                    ),
                    (
                        AdminActionKind::TokenRotate,
                        "token",
                        token.id.as_str(),
                        token.prefix.as_str(),
                        ADMIN
                    ),
                    (
                        AdminActionKind::TokenRevoke,
                        "token",
                        rotation.issued.id.as_str(),
                        rotation.issued.prefix.as_str(),
                        ADMIN
                    ),
                    // The rename and the disabling of one call are two actions.
                    (
                        AdminActionKind::ConfigUpdate,
                        "config",
                        config.id.as_str(),
                        "Okta EU",
                        ADMIN
                    ),
                    (
                        AdminActionKind::ConfigDisable,
                        "config",
                        config.id.as_str(),
                        "Okta EU",
                        ADMIN
                    ),
                    (
                        AdminActionKind::ConfigEnable,
                        "config",
                        config.id.as_str(),
                        "Okta EU",
                        "operator"
                    ),
                    (
                        AdminActionKind::ConfigDelete,
                        "config",
                        config.id.as_str(),
                        "Okta EU",
                        "operator"
                    ),
                ],
                "the second revocation changed nothing and is not recorded"
            );
            for event in &events {
                assert_eq!(event.tenant_id, tenant.id);
                assert_eq!(event.aggregate_kind, scim_events::AggregateKind::Config);
                assert_eq!(event.aggregate_id, config.id);
                assert_eq!(event.actor.config_id.as_deref(), Some(config.id.as_str()));
                assert_eq!(event.actor.token_id, None);
            }
        })
        .await;
    }
}
