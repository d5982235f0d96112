//! Who may sign in, and their sessions: one-time sign-in links made by the operator, the
//! admins they name, and the sessions of signed-in browsers. Secrets are random, shown once
//! and stored only as SHA-256 hashes.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::AppError;

/// Longest admin e-mail (or label) accepted on an invitation, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Who signs in with a link that names nobody.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin";

/// A signed-in admin, as every page and API call sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
}

impl Admin {
    /// How the provisioning log names this admin (see `service_kit::admin_auth`).
    pub fn actor(&self) -> String {
        format!("admin:{}:{}", self.id, self.email)
    }
}

/// A session found by its cookie: the admin and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub admin: Admin,
    pub csrf_token: String,
}

/// A sign-in link just made; its secret exists nowhere else.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub secret: String,
    pub tenant_id: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// How long links and sessions live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub invite: Duration,
    /// A session unused this long is over.
    pub session_idle: Duration,
    /// A session is over this long after sign-in, however active.
    pub session_absolute: Duration,
}

#[derive(Clone)]
pub struct IdentityStore {
    pool: PgPool,
    lifetimes: Lifetimes,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    admin_id: String,
    tenant_id: String,
    email: String,
    csrf_token: String,
}

impl IdentityStore {
    pub fn new(pool: PgPool, lifetimes: Lifetimes) -> Self {
        Self { pool, lifetimes }
    }

    /// Makes a one-time sign-in link for an admin of `tenant_id`. The caller has checked
    /// that the tenant exists.
    pub async fn invite(
        &self,
        tenant_id: &str,
        email: Option<&str>,
        created_by: &str,
    ) -> Result<Invitation, AppError> {
        let email = validate_email(email.unwrap_or(DEFAULT_ADMIN_EMAIL))?;
        let secret = random_secret("aci_");
        let expires_at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO invites (id, token_hash, tenant_id, email, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) \
             RETURNING expires_at",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(hash(&secret).as_slice())
        .bind(tenant_id)
        .bind(&email)
        .bind(created_by)
        .bind(self.lifetimes.invite.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        tracing::info!(%tenant_id, %email, %created_by, %expires_at, "sign-in link issued");
        Ok(Invitation {
            secret,
            tenant_id: tenant_id.to_owned(),
            email,
            expires_at,
        })
    }

    /// Whether a link could still be used, without spending it (for the page that asks
    /// the person to confirm; mail scanners open links, only a click may spend them).
    pub async fn invite_is_usable(&self, secret: &str) -> Result<bool, AppError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM invites \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now())",
        )
        .bind(hash(secret).as_slice())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Spends a link and starts a session for the admin it names; the session cookie's
    /// value. A link works once, before it expires; otherwise [`AppError::InvalidSignInLink`].
    pub async fn sign_in_with_link(&self, secret: &str) -> Result<String, AppError> {
        let mut tx = self.pool.begin().await?;
        let spent: Option<(String, String)> = sqlx::query_as(
            "UPDATE invites SET used_at = now() \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() \
             RETURNING tenant_id, email",
        )
        .bind(hash(secret).as_slice())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant_id, email)) = spent else {
            return Err(AppError::InvalidSignInLink);
        };
        // ON CONFLICT … DO UPDATE (a no-op) so that RETURNING yields the existing admin too.
        let admin_id: String = sqlx::query_scalar(
            "INSERT INTO admins (id, tenant_id, email) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, email) DO UPDATE SET email = EXCLUDED.email \
             RETURNING id",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(&tenant_id)
        .bind(&email)
        .fetch_one(&mut *tx)
        .await?;
        let admin = Admin {
            id: admin_id,
            tenant_id,
            email,
        };
        let secret = self.start_session(&mut tx, &admin).await?;
        tx.commit().await?;
        tracing::info!(admin_id = %admin.id, tenant_id = %admin.tenant_id, "admin signed in");
        Ok(secret)
    }

    /// Every sign-in method ends here.
    async fn start_session(
        &self,
        tx: &mut sqlx::PgConnection,
        admin: &Admin,
    ) -> Result<String, AppError> {
        let secret = random_secret("acs_");
        sqlx::query(
            "INSERT INTO sessions (secret_hash, admin_id, csrf_token, absolute_expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        )
        .bind(hash(&secret).as_slice())
        .bind(&admin.id)
        .bind(random_secret(""))
        .bind(self.lifetimes.session_absolute.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        Ok(secret)
    }

    /// The live session behind a cookie value, which this use keeps alive; `None` when
    /// unknown, signed out, idle too long or past its absolute expiry.
    pub async fn session(&self, secret: &str) -> Result<Option<Session>, AppError> {
        let row = sqlx::query_as::<_, SessionRow>(
            "UPDATE sessions s SET last_seen_at = now() \
             FROM admins a \
             WHERE s.secret_hash = $1 AND a.id = s.admin_id \
               AND s.signed_out_at IS NULL \
               AND s.absolute_expires_at > now() \
               AND s.last_seen_at > now() - make_interval(secs => $2) \
             RETURNING a.id AS admin_id, a.tenant_id, a.email, s.csrf_token",
        )
        .bind(hash(secret).as_slice())
        .bind(self.lifetimes.session_idle.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Session {
            admin: Admin {
                id: row.admin_id,
                tenant_id: row.tenant_id,
                email: row.email,
            },
            csrf_token: row.csrf_token,
        }))
    }

    pub async fn sign_out(&self, secret: &str) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE sessions SET signed_out_at = COALESCE(signed_out_at, now()) \
             WHERE secret_hash = $1",
        )
        .bind(hash(secret).as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn validate_email(email: &str) -> Result<String, AppError> {
    let email = email.trim();
    if email.is_empty()
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::InvalidInput(format!(
            "email must be 1-{MAX_EMAIL_CHARS} characters without spaces or control characters"
        )));
    }
    Ok(email.to_owned())
}

/// 256 random bits, URL-safe, behind a prefix that says what the secret is for.
fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_url_safe() {
        let a = random_secret("aci_");
        let b = random_secret("aci_");
        assert_ne!(a, b);
        assert!(a.starts_with("aci_"));
        assert_eq!(a.len(), 4 + 43);
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn emails_are_trimmed_and_bounded() {
        assert_eq!(
            validate_email("  ada@example.com ").unwrap(),
            "ada@example.com"
        );
        assert!(validate_email("").is_err());
        assert!(validate_email("a b@example.com").is_err());
        assert!(validate_email(&"a".repeat(MAX_EMAIL_CHARS + 1)).is_err());
        assert!(validate_email(&"é".repeat(MAX_EMAIL_CHARS)).is_ok());
    }

    #[test]
    fn the_actor_names_the_admin_for_the_log() {
        let admin = Admin {
            id: "a1".into(),
            tenant_id: "t1".into(),
            email: "ada@example.com".into(),
        };
        assert_eq!(admin.actor(), "admin:a1:ada@example.com");
    }
}
